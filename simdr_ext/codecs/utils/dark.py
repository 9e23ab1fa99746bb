# Copyright (c) simdr_ext contributors. All rights reserved.
"""Pure numpy/torch functions for heatmap decoding (DARK, arXiv 1910.06278).

Coordinate convention: heatmap pixel ``(x, y)`` is the pixel centre; every
function takes heatmaps in shape (..., H, W) and integer argmax locations
``(x, y)`` in shape (..., 2), where -1 marks "no maximum" (heatmap max
<= 0, as mmpose's ``get_heatmap_maximum``), and returns float64 heatmap
pixels. No function loops over keypoints in Python.

Modulation (DARK eq. 10-11) as in mmpose's ``gaussian_blur`` and the DARK
authors' code: the map is zero-padded by ``(ks - 1) / 2`` and blurred with
OpenCV's Gaussian kernel (:func:`gaussian_kernel_1d`), i.e. a zero-padded
'same' convolution (OpenCV's own border mode never reaches the output), then
rescaled so that its max equals the original max. The min-subtraction of
eq. 11 is NOT applied, as in both reference codes: it would need the blur of
the whole map, and ``log(h - m)`` has other derivatives than ``log h``,
while a pure rescale ``log(a h) = log a + log h`` changes no derivative.
The windowed decoder therefore skips the rescale, blurs only the
``(ks + 4)^2`` input patch that the 5x5 Taylor window reads, and clamps the
blurred values at ``EPS`` before the log; the full-map reference
(:func:`refine_dark_full`) clamps, then rescales, and agrees to rounding.
"""
from typing import Tuple

import numpy as np
import torch
from numpy.lib.stride_tricks import sliding_window_view
from torch import Tensor

from .gaussian import gaussian_kernel_1d

# floor before the log, as mmpose's refine_keypoints_dark (np.maximum 1e-10)
EPS = 1e-10


def heatmap_argmax(heatmaps: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Argmax location and value of every heatmap.

    Args:
        heatmaps (np.ndarray): Heatmaps in shape (..., H, W).

    Returns:
        tuple:
        - locs (np.ndarray): Int64 ``(x, y)`` in shape (..., 2); -1 where
          the max is <= 0 or NaN.
        - vals (np.ndarray): Max values in shape (...).
    """
    *lead, height, width = heatmaps.shape
    flat = heatmaps.reshape(-1, height * width)
    index = flat.argmax(-1)
    vals = np.take_along_axis(flat, index[:, None], 1)[:, 0]
    locs = np.stack([index % width, index // width], -1)
    with np.errstate(invalid='ignore'):
        locs = np.where((vals > 0)[:, None], locs, -1)
    return locs.reshape(*lead, 2), vals.reshape(lead)


def heatmap_argmax_torch(heatmaps: Tensor) -> Tuple[Tensor, Tensor]:
    """Torch twin of :func:`heatmap_argmax`.

    Args:
        heatmaps (Tensor): Heatmaps in shape (..., H, W).

    Returns:
        tuple: int64 locations (..., 2) and max values (...).
    """
    *lead, height, width = heatmaps.shape
    flat = heatmaps.reshape(-1, height * width)
    index = flat.argmax(-1)
    vals = flat.gather(1, index[:, None])[:, 0]
    locs = torch.stack([index % width, index // width], -1)
    locs = torch.where((vals > 0)[:, None], locs, torch.full_like(locs, -1))
    return locs.reshape(*lead, 2), vals.reshape(lead)


def refine_shift(heatmaps: np.ndarray, locs: np.ndarray) -> np.ndarray:
    """DARK eq. (1), per axis as mmpose: a 1/4 pixel step to the higher side.

    ``x += 0.25 * sign(h[y, x + 1] - h[y, x - 1])`` where both neighbours
    exist (``0 < x < W - 1``; mmpose's ``refine_keypoints`` also skips
    ``x == 1`` and ``y == 0``), likewise for y.

    Args:
        heatmaps (np.ndarray): Heatmaps in shape (..., H, W).
        locs (np.ndarray): Integer argmax ``(x, y)`` in shape (..., 2).

    Returns:
        np.ndarray: Float64 locations in shape (..., 2).
    """
    height, width = heatmaps.shape[-2:]
    maps = heatmaps.reshape(-1, height, width)
    x, y = locs.reshape(-1, 2).T
    m = np.arange(len(maps))
    steps = []
    for axis, (c, o, size) in enumerate(((x, y, width), (y, x, height))):
        ok = (c > 0) & (c < size - 1) & (o >= 0)
        lo, hi = np.clip(c - 1, 0, size - 1), np.clip(c + 1, 0, size - 1)
        o = np.clip(o, 0, None)
        if axis == 0:
            diff = maps[m, o, hi] - maps[m, o, lo]
        else:
            diff = maps[m, hi, o] - maps[m, lo, o]
        steps.append(np.where(ok, 0.25 * np.sign(diff), 0.0))
    return locs + np.stack(steps, -1).reshape(locs.shape)


def refine_shift_torch(heatmaps: Tensor, locs: Tensor) -> Tensor:
    """Torch twin of :func:`refine_shift`.

    Args:
        heatmaps (Tensor): Heatmaps in shape (..., H, W).
        locs (Tensor): Integer argmax ``(x, y)`` in shape (..., 2).

    Returns:
        Tensor: Float64 locations in shape (..., 2).
    """
    height, width = heatmaps.shape[-2:]
    maps = heatmaps.reshape(-1, height, width).double()
    x, y = locs.reshape(-1, 2).T
    m = torch.arange(maps.shape[0], device=maps.device)
    steps = []
    for axis, (c, o, size) in enumerate(((x, y, width), (y, x, height))):
        ok = (c > 0) & (c < size - 1) & (o >= 0)
        lo, hi = (c - 1).clamp(0, size - 1), (c + 1).clamp(0, size - 1)
        o = o.clamp(min=0)
        if axis == 0:
            diff = maps[m, o, hi] - maps[m, o, lo]
        else:
            diff = maps[m, hi, o] - maps[m, lo, o]
        steps.append(
            torch.where(ok, 0.25 * diff.sign(), torch.zeros_like(diff)))
    return locs.double() + torch.stack(steps, -1).reshape(locs.shape)


def taylor_offset(logwin: np.ndarray) -> np.ndarray:
    """DARK eq. (9) on 5x5 windows of the log heatmap: ``-H^-1 grad``.

    mmpose's ``refine_keypoints_dark`` stencils around the centre
    ``f = logwin[:, 2, 2]`` (rows are y): ``dx = (f[x+1] - f[x-1]) / 2``,
    ``dxx = (f[x+2] - 2 f + f[x-2]) / 4``, ``dxy = (f[y+1, x+1] -
    f[y-1, x+1] - f[y+1, x-1] + f[y-1, x-1]) / 4``.

    The step is taken only where it means what eq. (9) assumes: the log map
    is concave at the centre (``dxx < 0`` and ``det(H) > 0``, as the log of
    a Gaussian is) and the step stays within one pixel per axis (the true
    maximum of a map whose argmax is the centre lies within half a pixel,
    plus what the blur moves it). Elsewhere the offset is 0. mmpose and the
    DARK code step wherever ``det(H) != 0``, which on noisy or flat maps can
    throw a keypoint hundreds of pixels away; on Gaussian-like maps the two
    rules agree.

    Args:
        logwin (np.ndarray): Log heatmap windows in shape (M, 5, 5).

    Returns:
        np.ndarray: Float64 offsets ``(dx, dy)`` in shape (M, 2).
    """
    f = logwin.astype(np.float64)
    dx = 0.5 * (f[:, 2, 3] - f[:, 2, 1])
    dy = 0.5 * (f[:, 3, 2] - f[:, 1, 2])
    dxx = 0.25 * (f[:, 2, 4] - 2 * f[:, 2, 2] + f[:, 2, 0])
    dyy = 0.25 * (f[:, 4, 2] - 2 * f[:, 2, 2] + f[:, 0, 2])
    dxy = 0.25 * (f[:, 3, 3] - f[:, 1, 3] - f[:, 3, 1] + f[:, 1, 1])
    det = dxx * dyy - dxy**2
    concave = (dxx < 0) & (det > 0)
    safe = np.where(concave, det, 1.0)
    # closed-form 2x2 inverse: H^-1 = [[dyy, -dxy], [-dxy, dxx]] / det
    offset = -np.stack([dyy * dx - dxy * dy, dxx * dy - dxy * dx],
                       -1) / safe[:, None]
    valid = concave & (np.abs(offset) <= 1.0).all(-1)
    return np.where(valid[:, None], offset, 0.0)


def taylor_offset_torch(logwin: Tensor) -> Tensor:
    """Torch twin of :func:`taylor_offset`.

    Args:
        logwin (Tensor): Log heatmap windows in shape (M, 5, 5).

    Returns:
        Tensor: Float64 offsets ``(dx, dy)`` in shape (M, 2).
    """
    f = logwin.double()
    dx = 0.5 * (f[:, 2, 3] - f[:, 2, 1])
    dy = 0.5 * (f[:, 3, 2] - f[:, 1, 2])
    dxx = 0.25 * (f[:, 2, 4] - 2 * f[:, 2, 2] + f[:, 2, 0])
    dyy = 0.25 * (f[:, 4, 2] - 2 * f[:, 2, 2] + f[:, 0, 2])
    dxy = 0.25 * (f[:, 3, 3] - f[:, 1, 3] - f[:, 3, 1] + f[:, 1, 1])
    det = dxx * dyy - dxy**2
    concave = (dxx < 0) & (det > 0)
    safe = torch.where(concave, det, torch.ones_like(det))
    offset = -torch.stack([dyy * dx - dxy * dy, dxx * dy - dxy * dx],
                          -1) / safe[:, None]
    valid = concave & (offset.abs() <= 1.0).all(-1)
    return torch.where(valid[:, None], offset, torch.zeros_like(offset))


def _taylor_inside(locs: np.ndarray, height: int, width: int) -> np.ndarray:
    """Where the 5x5 window fits: ``1 < x < W - 2 and 1 < y < H - 2``."""
    x, y = locs[:, 0], locs[:, 1]
    return (x > 1) & (x < width - 2) & (y > 1) & (y < height - 2)


def refine_dark(heatmaps: np.ndarray, locs: np.ndarray,
                kernel_size: int) -> np.ndarray:
    """DARK eq. (10) + (9), windowed: O(ks^2) work per keypoint.

    Blurs only the ``(ks + 4)^2`` zero-padded patch around each argmax that
    the 5x5 Taylor window needs, clamps at ``EPS``, takes the log and adds
    :func:`taylor_offset` where ``1 < x < W - 2 and 1 < y < H - 2``. Equal
    to :func:`refine_dark_full` (see the module docstring for eq. 11).

    Args:
        heatmaps (np.ndarray): Heatmaps in shape (..., H, W).
        locs (np.ndarray): Integer argmax ``(x, y)`` in shape (..., 2).
        kernel_size (int): Odd blur kernel size ``ks``.

    Returns:
        np.ndarray: Float64 locations in shape (..., 2).
    """
    height, width = heatmaps.shape[-2:]
    maps = heatmaps.reshape(-1, height, width)
    flat = locs.reshape(-1, 2)
    half = kernel_size // 2 + 2  # kernel radius + Taylor window radius
    span = np.arange(-half, half + 1)
    xs, ys = flat[:, :1] + span, flat[:, 1:] + span  # (M, ks + 4) each
    # one flat gather (faster than 3-D fancy indexing), then zero padding
    index = ((np.arange(len(maps)) * (height * width))[:, None, None] +
             (ys.clip(0, height - 1) * width)[:, :, None] +
             xs.clip(0, width - 1)[:, None, :])
    patch = np.take(maps.reshape(-1), index).astype(np.float64)
    patch *= ((ys >= 0) & (ys < height))[:, :, None]
    patch *= ((xs >= 0) & (xs < width))[:, None, :]
    kernel = gaussian_kernel_1d(kernel_size)
    rows = sliding_window_view(patch, kernel_size, axis=2) @ kernel
    blurred = sliding_window_view(rows, kernel_size, axis=1) @ kernel
    offset = taylor_offset(np.log(np.maximum(blurred, EPS)))
    inside = _taylor_inside(flat, height, width)
    offset = np.where(inside[:, None], offset, 0.0)
    return locs + offset.reshape(locs.shape)


def refine_dark_torch(heatmaps: Tensor, locs: Tensor,
                      kernel_size: int) -> Tensor:
    """Torch twin of :func:`refine_dark` (float64 inside, same results).

    Args:
        heatmaps (Tensor): Heatmaps in shape (..., H, W).
        locs (Tensor): Integer argmax ``(x, y)`` in shape (..., 2).
        kernel_size (int): Odd blur kernel size ``ks``.

    Returns:
        Tensor: Float64 locations in shape (..., 2).
    """
    height, width = heatmaps.shape[-2:]
    maps = heatmaps.reshape(-1, height, width)
    flat = locs.reshape(-1, 2)
    half = kernel_size // 2 + 2  # kernel radius + Taylor window radius
    span = torch.arange(-half, half + 1, device=maps.device)
    xs, ys = flat[:, :1] + span, flat[:, 1:] + span
    on_map = (((ys >= 0) & (ys < height))[:, :, None] &
              ((xs >= 0) & (xs < width))[:, None, :])
    # maps.shape[0], not len(maps): the count stays dynamic in ONNX export
    m = torch.arange(maps.shape[0], device=maps.device)
    patch = maps[m[:, None, None], ys.clamp(0, height - 1)[:, :, None],
                 xs.clamp(0, width - 1)[:, None, :]].double()
    patch = torch.where(on_map, patch, torch.zeros_like(patch))
    kernel = gaussian_kernel_1d(kernel_size).tolist()
    # separable blur as a sum over the ks taps (slices, not unfold, so that
    # the graph exports to ONNX with a dynamic number of keypoints)
    rows = sum(k * patch[:, :, j:j + 5] for j, k in enumerate(kernel))
    blurred = sum(k * rows[:, j:j + 5, :] for j, k in enumerate(kernel))
    offset = taylor_offset_torch(blurred.clamp(min=EPS).log())
    x, y = flat[:, 0], flat[:, 1]
    inside = (x > 1) & (x < width - 2) & (y > 1) & (y < height - 2)
    offset = torch.where(inside[:, None], offset, torch.zeros_like(offset))
    return locs.double() + offset.reshape(locs.shape)


def modulate_heatmaps(heatmaps: np.ndarray, kernel_size: int) -> np.ndarray:
    """DARK eq. (10)-(11) on whole maps, as mmpose's ``gaussian_blur``.

    Zero-padded 'same' Gaussian blur, clamp at ``EPS``, then rescale to the
    original max where that factor is positive (no min-subtraction).

    Args:
        heatmaps (np.ndarray): Heatmaps in shape (M, H, W).
        kernel_size (int): Odd blur kernel size ``ks``.

    Returns:
        np.ndarray: Float64 modulated heatmaps in shape (M, H, W), > 0.
    """
    half = kernel_size // 2
    padded = np.pad(
        heatmaps.astype(np.float64), ((0, 0), (half, half), (half, half)))
    kernel = gaussian_kernel_1d(kernel_size)
    rows = sliding_window_view(padded, kernel_size, axis=2) @ kernel
    blurred = np.maximum(
        sliding_window_view(rows, kernel_size, axis=1) @ kernel, EPS)
    with np.errstate(divide='ignore', invalid='ignore'):
        scale = heatmaps.max((1, 2)) / blurred.max((1, 2))
    scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
    return blurred * scale[:, None, None]


def refine_dark_full(heatmaps: np.ndarray, locs: np.ndarray,
                     kernel_size: int) -> np.ndarray:
    """Reference DARK refinement on full maps (O(H W ks) per keypoint).

    :func:`modulate_heatmaps`, log, then :func:`taylor_offset` on the 5x5
    window of the whole log map, under the same ``inside`` rule.

    Args:
        heatmaps (np.ndarray): Heatmaps in shape (..., H, W).
        locs (np.ndarray): Integer argmax ``(x, y)`` in shape (..., 2).
        kernel_size (int): Odd blur kernel size ``ks``.

    Returns:
        np.ndarray: Float64 locations in shape (..., 2).
    """
    height, width = heatmaps.shape[-2:]
    logmap = np.log(
        modulate_heatmaps(heatmaps.reshape(-1, height, width), kernel_size))
    flat = locs.reshape(-1, 2)
    span = np.arange(-2, 3)
    ys = np.clip(flat[:, 1:] + span, 0, height - 1)[:, :, None]
    xs = np.clip(flat[:, :1] + span, 0, width - 1)[:, None, :]
    logwin = logmap[np.arange(len(logmap))[:, None, None], ys, xs]
    inside = _taylor_inside(flat, height, width)
    offset = np.where(inside[:, None], taylor_offset(logwin), 0.0)
    return locs + offset.reshape(locs.shape)
