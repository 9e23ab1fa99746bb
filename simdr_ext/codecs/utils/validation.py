# Copyright (c) simdr_ext contributors. All rights reserved.
"""Checks of what a codec is given.

Every check takes ``owner``, the class name its ``ValueError`` starts with,
and names the offending argument and value.
"""
import numbers
from typing import Optional, Sequence, Tuple, Union

import numpy as np
import torch

# the narrowest Gaussian label (bins or heatmap pixels): its neighbour bins
# hold exp(-1 / (2e-6)) = 0, i.e. it is a one-hot label already
MIN_SIGMA = 1e-3
# dtype kinds read as numbers: bool, int, unsigned int, float
_REAL_KINDS = frozenset('biuf')


def check_range(owner: str,
                name: str,
                value: float,
                low: Optional[float] = None,
                high: Optional[float] = None,
                high_inclusive: bool = True,
                why: str = '') -> float:
    """Return ``float(value)`` if it is a finite number in ``[low, high]``
    (``[low, high)`` unless ``high_inclusive``; ``None``: unbounded), else
    raise, appending ``why`` to a range error."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not np.isfinite(value):
        raise ValueError(f'{owner} got {name}={value!r}: expected a number')
    too_high = high is not None and (value > high or
                                     (not high_inclusive and value == high))
    if (low is not None and value < low) or too_high:
        bounds = f'[{low}, {high}{"]" if high_inclusive else ")"}'
        raise ValueError(f'{owner} got {name}={value!r}: expected a value '
                         f'in {bounds}{why}')
    return float(value)


def check_choice(owner: str, name: str, value: str,
                 choices: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f'{owner} got {name}={value!r}: expected one of '
                         f'{", ".join(map(repr, choices))}')
    return value


def check_size(owner: str,
               size: Sequence[int],
               name: str = 'input_size') -> Tuple[int, int]:
    """Return a size ``(w, h)`` of two positive integers as Python ints."""
    try:
        w, h = size
    except (TypeError, ValueError):
        w = h = None
    if not all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool)
            and v > 0 for v in (w, h)):
        raise ValueError(f'{owner} got {name}={size!r}: expected two '
                         'positive integers (w, h)')
    return int(w), int(h)


def check_sigma(owner: str, sigma: Union[float, Sequence[float]],
                lengths: Sequence[float]) -> Tuple[float, ...]:
    """One sigma per axis of ``lengths`` (bins or heatmap pixels, one or
    two axes) from one number for all or ``(sigma_x, sigma_y)``; each must
    be finite and in ``[MIN_SIGMA, length]``: narrower is a one-hot label
    (and underflows ``sigma**2``), wider is nearly flat over its axis."""
    if isinstance(sigma, numbers.Real):
        sigmas, names = (sigma, ) * len(lengths), ('sigma', ) * len(lengths)
    else:
        try:
            sigmas, names = tuple(sigma), ('sigma_x', 'sigma_y')
        except TypeError:
            sigmas = ()
        if len(lengths) != 2 or len(sigmas) != 2:
            pair = ' or (sigma_x, sigma_y)' if len(lengths) == 2 else ''
            raise ValueError(f'{owner} got sigma={sigma!r}: expected a '
                             f'number{pair}')
    why = (' (narrower is a one-hot label; wider than the axis, in bins or '
           'heatmap pixels, marks no location)')
    return tuple(
        check_range(owner, n, s, MIN_SIGMA, length, why=why)
        for n, s, length in zip(names, sigmas, lengths))


def _check_real(where: str, name: str, dtype) -> None:
    """Raise unless ``dtype`` (numpy or torch) holds real numbers."""
    if isinstance(dtype, torch.dtype):
        real = not dtype.is_complex
    else:
        real = dtype.kind in _REAL_KINDS
    if not real:
        raise ValueError(f'{where} expects {name} of real numbers, got '
                         f'dtype {dtype}')


def check_keypoint_arrays(
        owner: str, keypoints: np.ndarray,
        keypoints_visible: Optional[np.ndarray]
) -> Tuple[np.ndarray, np.ndarray]:
    """Check encode inputs, cheaply (a pipeline encodes every sample).

    Args:
        owner (str): Class name used in the message.
        keypoints (np.ndarray): Keypoints (N, K, D >= 2) of a real dtype.
        keypoints_visible (np.ndarray, optional): Visibility (N, K); ``None``
            means all visible (NaN fails ``>= 0.5``: invisible).

    Returns:
        tuple: float64 keypoints (N, K, 2) and visibility (N, K).
    """
    where = f'{owner}.encode'
    keypoints = np.asarray(keypoints)
    _check_real(where, 'keypoints', keypoints.dtype)
    shape = keypoints.shape
    if len(shape) != 3 or shape[-1] < 2:
        raise ValueError(f'{where} expects keypoints in shape (N, K, D>=2), '
                         f'got {shape}')
    if keypoints_visible is None:
        keypoints_visible = np.ones(shape[:2])
    else:
        keypoints_visible = np.asarray(keypoints_visible)
        _check_real(where, 'keypoints_visible', keypoints_visible.dtype)
        if keypoints_visible.shape != shape[:2]:
            raise ValueError(f'{where} expects keypoints_visible in shape '
                             f'{shape[:2]}, got {keypoints_visible.shape}')
    keypoints = keypoints[..., :2]
    if keypoints.dtype != np.float64:
        keypoints = keypoints.astype(np.float64)
    return keypoints, keypoints_visible


def check_logit_pair(owner: str, method: str, simcc_x, simcc_y,
                     torch_twin: bool):
    """Check a pair of SimDR logits for ``owner.method``; return them in
    float32, or float64 if they are: what ``Tensor.float()`` gives, so both
    twins see the same numbers (uint8 ``200 - 250`` would wrap around).

    Args:
        owner (str): Class name used in the message.
        method (str): ``'decode'`` or ``'decode_torch'``.
        simcc_x (np.ndarray | Tensor): x logits, (N, K, Wx) or (K, Wx).
        simcc_y (np.ndarray | Tensor): y logits, (N, K, Wy) or (K, Wy).
        torch_twin (bool): Whether tensors or numpy arrays are expected.

    Returns:
        tuple: The two arrays (or tensors) in float32 or float64.
    """
    where = f'{owner}.{method}'
    kind = torch.Tensor if torch_twin else np.ndarray
    pair = (('simcc_x', simcc_x), ('simcc_y', simcc_y))
    for name, value in pair:
        if not isinstance(value, kind):
            other = 'decode (numpy)' if torch_twin else 'decode_torch'
            raise ValueError(
                f'{where} expects {name} as a {kind.__module__}.'
                f'{kind.__name__}, got {type(value).__module__}.'
                f'{type(value).__name__}: use {other} or batch_decode')
    shape_x, shape_y = tuple(simcc_x.shape), tuple(simcc_y.shape)
    if len(shape_x) not in (2, 3) or len(shape_y) != len(shape_x):
        raise ValueError(
            f'{where} expects simcc_x and simcc_y in shape (N, K, Wx) / '
            f'(N, K, Wy) or (K, Wx) / (K, Wy), got {shape_x} and {shape_y}')
    if shape_x[:-1] != shape_y[:-1]:
        raise ValueError(
            f'{where} got simcc_x of shape {shape_x} and simcc_y of shape '
            f'{shape_y}: x and y need the same (N, K)')
    out = []
    for name, value in pair:
        _check_real(where, name, value.dtype)
        if torch_twin:
            wide = value.dtype == torch.float64
            out.append(value if wide else value.float())
        elif value.dtype in (np.float32, np.float64):
            out.append(value)
        else:
            out.append(value.astype(np.float32))
    return tuple(out)
