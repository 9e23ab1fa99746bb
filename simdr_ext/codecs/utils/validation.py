# Copyright (c) simdr_ext contributors. All rights reserved.
"""Checks of what a codec is given; each error names the codec."""
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
    """Return ``float(value)`` or raise ``ValueError`` naming ``owner``.

    Args:
        owner (str): Class name used in the message.
        name (str): Argument name used in the message.
        value (float): The value to check: a finite real number.
        low (float, optional): Inclusive lower bound. Defaults to ``None``.
        high (float, optional): Upper bound. Defaults to ``None``.
        high_inclusive (bool): Whether ``high`` itself is allowed.
            Defaults to ``True``.
        why (str): Reason appended to a range error. Defaults to ``''``.

    Returns:
        float: The value.
    """
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


def check_size(owner: str,
               size: Sequence[int],
               name: str = 'input_size') -> Tuple[int, int]:
    """Validate a size ``(w, h)`` of two positive integers.

    Args:
        owner (str): Class name used in the message.
        size (Sequence[int]): The size ``(w, h)``.
        name (str): Argument name used in the message. Defaults to
            ``'input_size'``.

    Returns:
        tuple: ``(w, h)`` as Python ints.
    """
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
    """Validate a Gaussian sigma per axis, given once for all or per axis.

    Each must be finite and in ``[MIN_SIGMA, length]``: narrower is a
    one-hot label (and underflows ``sigma**2``), wider than its axis is
    nearly flat and marks no location.

    Args:
        owner (str): Class name used in the message.
        sigma (float | Sequence[float]): One sigma, or one per axis when
            there are two axes (``(sigma_x, sigma_y)``).
        lengths (Sequence[float]): Axis lengths in the unit of sigma (bins
            or heatmap pixels), one or two.

    Returns:
        tuple: One sigma per axis.
    """
    if isinstance(sigma, numbers.Real):
        sigmas, names = (sigma, ) * len(lengths), ('sigma', ) * len(lengths)
    else:
        try:
            sigmas, names = tuple(sigma), ('sigma_x', 'sigma_y')
        except TypeError:
            sigmas = ()
        if len(lengths) != 2 or len(sigmas) != 2:
            raise ValueError(f'{owner} got sigma={sigma!r}: expected a number'
                             f'{" or (sigma_x, sigma_y)" * (len(lengths) > 1)}')
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
    """Check encode inputs and fill in a missing visibility.

    Cheap (a few attribute reads, at most two small casts): a training
    pipeline calls encode once per sample.

    Args:
        owner (str): Class name used in the message.
        keypoints (np.ndarray): Keypoints in shape (N, K, D), D >= 2, of a
            real or integer dtype.
        keypoints_visible (np.ndarray, optional): Visibility in shape (N, K);
            ``None`` means all visible.

    Returns:
        tuple: float64 keypoints (N, K, 2) and visibility (N, K) as given
        (or all ones); a NaN visibility fails ``>= 0.5``: invisible.
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
    """Check a pair of SimDR logit arrays; return them in a float dtype.

    Both twins read logits alike: float64 stays, every other dtype (float16,
    integers, bool) becomes float32, what ``Tensor.float()`` gives, so the
    numpy and torch decoders see the same numbers (uint8 ``200 - 250``
    would wrap around otherwise).

    Args:
        owner (str): Class name used in the message.
        method (str): ``'decode'`` or ``'decode_torch'``.
        simcc_x (np.ndarray | Tensor): x logits, (N, K, Wx) or (K, Wx).
        simcc_y (np.ndarray | Tensor): y logits, (N, K, Wy) or (K, Wy).
        torch_twin (bool): Whether tensors (``True``) or numpy arrays are
            expected.

    Returns:
        tuple: The two arrays (or tensors) in float32 or float64.
    """
    kind = torch.Tensor if torch_twin else np.ndarray
    pair = (('simcc_x', simcc_x), ('simcc_y', simcc_y))
    for name, value in pair:
        if not isinstance(value, kind):
            other = ('decode (numpy) or batch_decode'
                     if torch_twin else 'decode_torch or batch_decode')
            raise ValueError(
                f'{owner}.{method} expects {name} as a {kind.__module__}.'
                f'{kind.__name__}, got {type(value).__module__}.'
                f'{type(value).__name__}: use {other} for those')
    shape_x, shape_y = tuple(simcc_x.shape), tuple(simcc_y.shape)
    if len(shape_x) not in (2, 3) or len(shape_y) != len(shape_x):
        raise ValueError(
            f'{owner}.{method} expects simcc_x and simcc_y in shape '
            f'(N, K, Wx) / (N, K, Wy) or (K, Wx) / (K, Wy), got {shape_x} '
            f'and {shape_y}')
    if shape_x[:-1] != shape_y[:-1]:
        raise ValueError(
            f'{owner}.{method} got simcc_x of shape {shape_x} and simcc_y '
            f'of shape {shape_y}: x and y need the same (N, K), here '
            f'{shape_x[:-1]} and {shape_y[:-1]}')
    out = []
    for name, value in pair:
        _check_real(f'{owner}.{method}', name, value.dtype)
        if torch_twin:
            out.append(value if value.dtype == torch.float64 else value.float())
        elif value.dtype in (np.float32, np.float64):
            out.append(value)
        else:
            out.append(value.astype(np.float32))
    return tuple(out)
