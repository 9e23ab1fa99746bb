# Copyright (c) simdr_ext contributors. All rights reserved.
"""Argument checks shared by the codecs: each error names the codec."""
import numbers
from typing import Optional, Sequence, Tuple

import numpy as np


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

    Args:
        owner (str): Class name used in the message.
        keypoints (np.ndarray): Keypoints in shape (N, K, D), D >= 2.
        keypoints_visible (np.ndarray, optional): Visibility in shape (N, K);
            ``None`` means all visible.

    Returns:
        tuple: float64 keypoints (N, K, 2) and float visibility (N, K); NaN
        visibility counts as invisible.
    """
    keypoints = np.asarray(keypoints, dtype=np.float64)
    if keypoints.ndim != 3 or keypoints.shape[-1] < 2:
        raise ValueError(f'{owner}.encode expects keypoints in shape '
                         f'(N, K, D>=2), got {keypoints.shape}')
    if keypoints_visible is None:
        keypoints_visible = np.ones(keypoints.shape[:2])
    keypoints_visible = np.asarray(keypoints_visible, dtype=np.float64)
    if keypoints_visible.shape != keypoints.shape[:2]:
        raise ValueError(f'{owner}.encode expects keypoints_visible in shape '
                         f'{keypoints.shape[:2]}, got '
                         f'{keypoints_visible.shape}')
    keypoints_visible = np.nan_to_num(keypoints_visible, nan=0.0)
    return keypoints[..., :2], keypoints_visible


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


def check_sigma_pair(owner: str, sigma) -> Tuple[float, float]:
    """Validate a sigma given as one number or as ``(sigma_x, sigma_y)``.

    Args:
        owner (str): Class name used in the message.
        sigma (float | Sequence[float]): One sigma for both axes, or two.

    Returns:
        tuple: ``(sigma_x, sigma_y)``, both finite and > 0.
    """
    if isinstance(sigma, numbers.Real):
        sigma = (sigma, sigma)
    try:
        sx, sy = sigma
    except (TypeError, ValueError):
        raise ValueError(f'{owner} got sigma={sigma!r}: expected a number '
                         'or (sigma_x, sigma_y)')
    return tuple(check_positive(owner, 'sigma', s) for s in (sx, sy))


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
