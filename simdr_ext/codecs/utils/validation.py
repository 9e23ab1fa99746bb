# Copyright (c) simdr_ext contributors. All rights reserved.
"""Argument checks shared by the codecs: each error names the codec."""
import numbers
from typing import Optional, Sequence, Tuple

import numpy as np
import torch


def check_range(owner: str,
                name: str,
                value: float,
                low: Optional[float] = None,
                high: Optional[float] = None,
                high_inclusive: bool = True) -> float:
    """Return ``float(value)`` or raise ``ValueError`` naming ``owner``.

    Args:
        owner (str): Class name used in the message.
        name (str): Argument name used in the message.
        value (float): The value to check.
        low (float, optional): Inclusive lower bound. Defaults to ``None``.
        high (float, optional): Upper bound. Defaults to ``None``.
        high_inclusive (bool): Whether ``high`` itself is allowed.
            Defaults to ``True``.

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
                         f'in {bounds}')
    return float(value)


def check_input_size(owner: str, size: Sequence[int]) -> Tuple[int, int]:
    """Validate an ``(w, h)`` size of positive integers.

    Args:
        owner (str): Class name used in the message.
        size (Sequence[int]): The size ``(w, h)``.

    Returns:
        tuple: ``(w, h)`` as Python ints.
    """
    try:
        w, h = size
    except (TypeError, ValueError):
        raise ValueError(f'{owner} got input_size={size!r}: expected (w, h)')
    for v in (w, h):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) \
                or v <= 0:
            raise ValueError(f'{owner} got input_size={size!r}: expected '
                             'two positive integers (w, h)')
    return int(w), int(h)


def check_keypoint_arrays(
        owner: str, keypoints: np.ndarray,
        keypoints_visible: Optional[np.ndarray]
) -> Tuple[np.ndarray, np.ndarray]:
    """Check encode inputs and fill in a missing visibility.

    Cheap: a training pipeline calls encode once per sample, so this does
    a few attribute reads and at most two small casts.

    Args:
        owner (str): Class name used in the message.
        keypoints (np.ndarray): Keypoints in shape (N, K, D), D >= 2, of a
            real or integer dtype.
        keypoints_visible (np.ndarray, optional): Visibility in shape (N, K);
            ``None`` means all visible.

    Returns:
        tuple: float64 keypoints (N, K, 2) and visibility (N, K) as given
        (or all ones); NaN visibility compares False with ``>= 0.5``, i.e.
        counts as invisible.
    """
    if type(keypoints) is not np.ndarray:
        keypoints = np.asarray(keypoints)
    if keypoints.dtype.kind not in _REAL_KINDS:
        raise ValueError(f'{owner}.encode expects keypoints of numbers, got '
                         f'dtype {keypoints.dtype}')
    shape = keypoints.shape
    if len(shape) != 3 or shape[-1] < 2:
        raise ValueError(f'{owner}.encode expects keypoints in shape '
                         f'(N, K, D>=2), got {shape}')
    if keypoints_visible is None:
        keypoints_visible = np.ones(shape[:2])
    else:
        if type(keypoints_visible) is not np.ndarray:
            keypoints_visible = np.asarray(keypoints_visible)
        if keypoints_visible.dtype.kind not in _REAL_KINDS:
            raise ValueError(
                f'{owner}.encode expects keypoints_visible of numbers, got '
                f'dtype {keypoints_visible.dtype}')
        if keypoints_visible.shape != shape[:2]:
            raise ValueError(
                f'{owner}.encode expects keypoints_visible in shape '
                f'{shape[:2]}, got {keypoints_visible.shape}')
    keypoints = keypoints[..., :2]
    if keypoints.dtype != np.float64:
        keypoints = keypoints.astype(np.float64)
    return keypoints, keypoints_visible


# the narrowest Gaussian label (bins or heatmap pixels): its neighbour bins
# hold exp(-1 / (2e-6)) = 0, i.e. it is a one-hot label already
MIN_SIGMA = 1e-3
# dtype kinds read as numbers: bool, int, unsigned int, float
_REAL_KINDS = frozenset('biuf')


def check_logit_pair(owner: str, method: str, simcc_x, simcc_y,
                     torch_twin: bool):
    """Check a pair of SimDR logit arrays; return them in a float dtype.

    Both twins read logits the same way: float64 stays float64, every other
    dtype (float16, integers, bool) becomes float32, the dtype torch's
    ``Tensor.float()`` gives, so that the numpy and the torch decoder see
    the same numbers (uint8 ``200 - 250`` would wrap around otherwise).

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
    for name, value in (('simcc_x', simcc_x), ('simcc_y', simcc_y)):
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
    if torch_twin:
        if simcc_x.dtype.is_complex or simcc_y.dtype.is_complex:
            raise ValueError(f'{owner}.{method} expects real logits, got '
                             f'dtype {simcc_x.dtype} / {simcc_y.dtype}')
        if simcc_x.dtype != torch.float64:
            simcc_x = simcc_x.float()
        if simcc_y.dtype != torch.float64:
            simcc_y = simcc_y.float()
        return simcc_x, simcc_y
    out = []
    for name, value in (('simcc_x', simcc_x), ('simcc_y', simcc_y)):
        dtype = value.dtype
        if dtype.kind not in _REAL_KINDS:
            raise ValueError(f'{owner}.{method} expects {name} of numbers, '
                             f'got dtype {dtype}')
        if dtype != np.float32 and dtype != np.float64:
            value = value.astype(np.float32)
        out.append(value)
    return tuple(out)


def check_positive(owner: str, name: str, value: float) -> float:
    """Return ``float(value)`` if it is a finite number > 0, else raise.

    Args:
        owner (str): Class name used in the message.
        name (str): Argument name used in the message.
        value (float): The value to check.

    Returns:
        float: The value.
    """
    value = check_range(owner, name, value, low=0.0)
    if value == 0:
        raise ValueError(f'{owner} got {name}={value!r}: expected a value '
                         '> 0')
    return value


def check_sigma_pair(owner: str,
                     sigma,
                     lengths: Optional[Tuple[int, int]] = None
                     ) -> Tuple[float, float]:
    """Validate a sigma given as one number or as ``(sigma_x, sigma_y)``.

    Args:
        owner (str): Class name used in the message.
        sigma (float | Sequence[float]): One sigma for both axes, or two.
        lengths (tuple, optional): The axis lengths ``(Lx, Ly)`` in the
            unit of sigma; each sigma must be at most its axis' length (a
            wider Gaussian is nearly flat over the axis and marks no
            location). Defaults to ``None`` (no upper bound).

    Returns:
        tuple: ``(sigma_x, sigma_y)``, both finite and in
        ``[MIN_SIGMA, length]``.
    """
    if isinstance(sigma, numbers.Real):
        sigma = (sigma, sigma)
    try:
        sx, sy = sigma
    except (TypeError, ValueError):
        raise ValueError(f'{owner} got sigma={sigma!r}: expected a number '
                         'or (sigma_x, sigma_y)')
    return tuple(
        check_sigma(owner, s, length, name=f'sigma={sigma!r}: sigma_{axis}')
        for axis, s, length in zip('xy', (sx, sy), lengths or (None, None)))


def check_sigma(owner: str,
                sigma: float,
                length: Optional[float] = None,
                name: str = 'sigma') -> float:
    """Validate one Gaussian sigma: finite, ``>= MIN_SIGMA``, ``<= length``.

    Args:
        owner (str): Class name used in the message.
        sigma (float): The standard deviation (bins or heatmap pixels).
        length (float, optional): Upper bound, the axis length in the unit
            of sigma: a wider Gaussian is nearly flat over the axis and
            marks no location. Defaults to ``None`` (no upper bound).
        name (str): How the message names the value. Defaults to
            ``'sigma'``.

    Returns:
        float: The sigma.
    """
    value = check_positive(owner, 'sigma', sigma)
    if value < MIN_SIGMA:
        raise ValueError(
            f'{owner} got {name} = {value!r}: expected at least '
            f'{MIN_SIGMA:g} (a Gaussian that narrow is a one-hot label; '
            'smaller values underflow sigma**2)')
    if length is not None and value > length:
        raise ValueError(
            f'{owner} got {name} = {value:g}: wider than the axis it labels '
            f'({length} bins or pixels); such a Gaussian is nearly flat and '
            'marks no location')
    return value


def check_size(owner: str, name: str, size: Sequence[int]) -> Tuple[int, int]:
    """Validate a ``(w, h)`` size of positive integers named ``name``.

    Args:
        owner (str): Class name used in the message.
        name (str): Argument name used in the message.
        size (Sequence[int]): The size ``(w, h)``.

    Returns:
        tuple: ``(w, h)`` as Python ints.
    """
    try:
        return check_input_size(owner, size)
    except ValueError:
        raise ValueError(f'{owner} got {name}={size!r}: expected two '
                         'positive integers (w, h)') from None


def check_choice(owner: str, name: str, value, choices: Sequence) -> object:
    """Return ``value`` if it is one of ``choices``, else raise.

    Args:
        owner (str): Class name used in the message.
        name (str): Argument name used in the message.
        value (object): The value to check.
        choices (Sequence): The allowed values.

    Returns:
        object: The value.
    """
    if value not in choices:
        raise ValueError(f'{owner} got {name}={value!r}: expected one of '
                         f'{tuple(choices)}')
    return value
