# Copyright (c) simdr_ext contributors. All rights reserved.
"""Heatmap decoding: argmax, DARK's shift, blur kernel and Taylor step.

DARK is arXiv 1910.06278. Heatmap pixel ``(x, y)`` is the pixel centre;
functions take heatmaps (..., H, W) and integer argmax ``(x, y)`` (..., 2),
-1 marking "no maximum" (max <= 0, as mmpose's ``get_heatmap_maximum``),
return float64 heatmap pixels and loop over no keypoint in Python.

Modulation (eq. 10-11) in mmpose's ``gaussian_blur`` and the DARK code is a
zero-padded blur by OpenCV's kernel (:func:`gaussian_kernel_1d`) and a
rescale to the original max; neither applies eq. 11's min-subtraction
(``log(h - m)`` has other derivatives than ``log h``). The rescale adds a
constant to the log, so :func:`refine_dark` skips it and blurs only the
``(ks + 4)^2`` patch the 5x5 Taylor window reads, clamped at ``EPS``.

Borders: zero padding pulls a blurred peak near the border inwards (sigma 2
centred 0.3 px from the edge: 0.9 px inside with kernel 11) and both codes
skip the Taylor step within 2 px of it; edge replication pushes about 2 px
outwards. Here each pass of the separable blur (x on rows, then y on the
x-blurred columns) first extends the map along its axis by the quadratic
through the log of its three outermost pixels (the Gaussian through them),
capped at the edge value: exact on a Gaussian, so border keypoints are
refined like interior ones. ``tools/analysis/dark_decoding_table.py`` holds
the full-map reference, equal to rounding. Maps under 3 px on an axis hold
no parabola and are not refined.
"""
from typing import Optional, Tuple

import numpy as np
import torch
from numpy.lib.stride_tricks import sliding_window_view
from torch import Tensor

from .backend import Array, arange, cast, namespace

# floor before the log, as mmpose's refine_keypoints_dark (np.maximum 1e-10)
EPS = 1e-10
# largest Taylor step per axis, in heatmap pixels: the smallest whole pixel
# with which no informative case of docs/dark_decoding.md (noisy, flat-top,
# distractor, near-border maps) decodes worse than DarkPose's unbounded step
STEP_LIMIT = 3.0
# least log curvature taken as concave: float64 rounding of a constant map
# gives second differences near 1e-16; a Gaussian of sigma s blurred by
# sigma k has -1 / (s^2 + k^2), so 1e-9 only drops blobs wider than 3e4 px
CURVATURE_EPS = 1e-9
# the log of a map >= 0 blurred by sigma k has Hessian eigenvalues >= -1 / k^2
# (equal for a single spike): below -SHARPEST / k^2 the window holds negative
# or clamped values. Above -1 / (2 (WIDEST k)^2) the blob is wider than
# WIDEST kernel sigmas: a near-singular Hessian whose step amplifies float
# rounding (a garbage map, not a keypoint)
SHARPEST = 2.0
WIDEST = 4.0


def kernel_sigma(kernel_size: int) -> float:
    """OpenCV's sigma of a ``ks``-tap Gaussian kernel, ``0.3 ((ks - 1) / 2
    - 1) + 0.8``: 2.0 for ks = 11 and 2.9 for ks = 17, the kernels mmpose
    and DARK use for heatmap sigma 2 and 3."""
    return 0.3 * ((kernel_size - 1) * 0.5 - 1) + 0.8


# cv2.getGaussianKernel(ks, sigma<=0) uses these fixed taps for ks <= 9
# instead of sampling the formula (OpenCV 4.x small_gaussian_tab; checked
# against cv2 4.11 in tests/test_codecs/test_dark_heatmap.py)
_SMALL_KERNELS = {
    1: (1.0, ),
    3: (0.25, 0.5, 0.25),
    5: (0.0625, 0.25, 0.375, 0.25, 0.0625),
    7: (0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125),
    9: (0.015625, 0.05078125, 0.1171875, 0.19921875, 0.234375, 0.19921875,
        0.1171875, 0.05078125, 0.015625),
}


def gaussian_kernel_1d(kernel_size: int) -> np.ndarray:
    """The 1D kernel of ``cv2.GaussianBlur(x, (ks, ks), 0)`` (DARK eq. 10).

    Sampled ``exp(-(i - r)^2 / (2 sigma^2))`` with :func:`kernel_sigma`,
    normalised to sum 1; for ``ks <= 9`` OpenCV's fixed taps.

    Args:
        kernel_size (int): Odd kernel size ``ks``.

    Returns:
        np.ndarray: Float64 kernel in shape (ks, ).
    """
    if kernel_size in _SMALL_KERNELS:
        return np.array(_SMALL_KERNELS[kernel_size], dtype=np.float64)
    taps = np.arange(kernel_size) - (kernel_size - 1) / 2
    kernel = np.exp(-taps**2 / (2 * kernel_sigma(kernel_size)**2))
    return kernel / kernel.sum()


def heatmap_argmax(heatmaps: Array) -> Tuple[Array, Array]:
    """Argmax location and value of every heatmap.

    Args:
        heatmaps (np.ndarray | Tensor): Heatmaps in shape (..., H, W).

    Returns:
        tuple:
        - locs (np.ndarray | Tensor): Int64 ``(x, y)`` in shape (..., 2); -1
          where the max is <= 0 or NaN.
        - vals (np.ndarray | Tensor): Max values in shape (...).
    """
    xp = namespace(heatmaps)
    *lead, height, width = heatmaps.shape
    flat = heatmaps.reshape(-1, height * width)
    index = flat.argmax(-1)
    vals = flat[arange(flat.shape[0], flat), index]
    locs = xp.stack([index % width, index // width], -1)
    with np.errstate(invalid='ignore'):
        locs = xp.where((vals > 0)[:, None], locs, -1)
    return locs.reshape(*lead, 2), vals.reshape(lead)


def refine_shift(heatmaps: Array, locs: Array) -> Array:
    """DARK eq. (1), per axis as mmpose: a 1/4 pixel step to the higher side.

    ``x += 0.25 * sign(h[y, x + 1] - h[y, x - 1])`` where both neighbours
    exist (``0 < x < W - 1``; mmpose's ``refine_keypoints`` also skips
    ``x == 1`` and ``y == 0``), likewise for y.

    Args:
        heatmaps (np.ndarray | Tensor): Heatmaps in shape (..., H, W).
        locs (np.ndarray | Tensor): Integer argmax ``(x, y)``, (..., 2).

    Returns:
        np.ndarray | Tensor: Float64 locations in shape (..., 2).
    """
    xp = namespace(heatmaps)
    height, width = heatmaps.shape[-2:]
    maps = heatmaps.reshape(-1, height, width)
    x, y = locs.reshape(-1, 2).T
    m = arange(maps.shape[0], maps)
    steps = []
    for c, o, size, lines in ((x, y, width, maps),
                              (y, x, height, maps.swapaxes(1, 2))):
        ok = (c > 0) & (c < size - 1) & (o >= 0)
        o = o.clip(0, None)
        hi, lo = (cast(lines[m, o, (c + d).clip(0, size - 1)], 'float64')
                  for d in (1, -1))
        steps.append(xp.where(ok, 0.25 * xp.sign(hi - lo), 0.0))
    return cast(locs, 'float64') + xp.stack(steps, -1).reshape(locs.shape)


def taylor_offset(logwin: Array,
                  limit: float = STEP_LIMIT,
                  blur_sigma: Optional[float] = None) -> Array:
    """DARK eq. (9) on 5x5 windows of the log heatmap: ``-H^-1 grad``.

    mmpose's ``refine_keypoints_dark`` stencils around ``f = logwin[:, 2,
    2]`` (rows are y): ``dx = (f[x+1] - f[x-1]) / 2``, ``dxx = (f[x+2] - 2 f
    + f[x-2]) / 4``, ``dxy = (f[y+1, x+1] - f[y-1, x+1] - f[y+1, x-1] +
    f[y-1, x-1]) / 4``. mmpose and the DARK code step wherever ``det(H) !=
    0``, which throws flat or noisy maps thousands of pixels away; here the
    step (to the maximum of the fitted quadratic) is taken only where the
    log map is concave (beyond :data:`CURVATURE_EPS`) and, given the blur
    sigma ``k``, a blurred blob: both Hessian eigenvalues in ``[-SHARPEST /
    k^2, -1 / (2 (WIDEST k)^2)]`` (a Gaussian of sigma s has ``-1 / (s^2 +
    k^2)``). It is clipped to ``[-limit, limit]`` per axis: noisy Gaussians
    need over 1 px, flat tops over 2 px (a plateau's argmax is its first
    pixel), uniform noise then moves at most ``3 sqrt(2)`` px
    (``docs/dark_decoding.md``).

    Args:
        logwin (np.ndarray | Tensor): Log heatmap windows, shape (M, 5, 5).
        limit (float): Largest step per axis in heatmap pixels, > 0.
            Defaults to :data:`STEP_LIMIT` (3).
        blur_sigma (float, optional): Sigma of the blur the windows went
            through; ``None`` checks concavity only. Defaults to ``None``.

    Returns:
        np.ndarray | Tensor: Float64 offsets ``(dx, dy)`` in shape (M, 2),
        within ``[-limit, limit]``.
    """
    xp, f = namespace(logwin), cast(logwin, 'float64')
    dx = 0.5 * (f[:, 2, 3] - f[:, 2, 1])
    dy = 0.5 * (f[:, 3, 2] - f[:, 1, 2])
    dxx = 0.25 * (f[:, 2, 4] - 2 * f[:, 2, 2] + f[:, 2, 0])
    dyy = 0.25 * (f[:, 4, 2] - 2 * f[:, 2, 2] + f[:, 0, 2])
    dxy = 0.25 * (f[:, 3, 3] - f[:, 1, 3] - f[:, 3, 1] + f[:, 1, 1])
    det = dxx * dyy - dxy**2
    concave = (dxx < -CURVATURE_EPS) & (det > CURVATURE_EPS**2)
    if blur_sigma is not None:  # eigenvalues mid +- rad
        mid = 0.5 * (dxx + dyy)
        rad = xp.sqrt(0.25 * (dxx - dyy)**2 + dxy**2)
        concave = concave & (
            mid + rad <= -0.5 / (WIDEST * blur_sigma)**2) & (
                mid - rad >= -SHARPEST / blur_sigma**2)
    safe = xp.where(concave, det, 1.0)
    # closed-form 2x2 inverse: H^-1 = [[dyy, -dxy], [-dxy, dxx]] / det
    offset = -xp.stack([dyy * dx - dxy * dy, dxx * dy - dxy * dx],
                       -1) / safe[:, None]
    return xp.where(concave[:, None], offset.clip(-limit, limit), 0.0)


def log_quadratic(f0: Array, f1: Array, f2: Array, dist: Array) -> Array:
    """The log ``dist`` (>= 0) pixels beyond an edge, capped at the edge
    value: the quadratic through ``(0, f0), (1, f1), (2, f2)`` (logs of the
    edge pixel and of the next two inwards; broadcastable arrays or tensors)
    at ``-dist``, in Lagrange form."""
    ext = (0.5 * (dist + 1) * (dist + 2) * f0 - dist * (dist + 2) * f1 +
           0.5 * dist * (dist + 1) * f2)
    return namespace(ext).minimum(ext, f0)


def keep_on_map(locs: Array, offset: Array, height: int,
                width: int) -> Array:
    """``locs + offset`` (M, 2) clipped to ``[-0.5, W - 0.5] x [-0.5, H -
    0.5]``, where a keypoint rounds onto the map (the encoders' rule): a
    noisy argmax in a corner could otherwise step ``STEP_LIMIT`` outwards
    on both axes. ``-1`` locations (no maximum) stay. Float64 (M, 2)."""
    xp, locs = namespace(locs), cast(locs, 'float64')
    refined = xp.stack([(locs[:, 0] + offset[:, 0]).clip(-0.5, width - 0.5),
                        (locs[:, 1] + offset[:, 1]).clip(-0.5, height - 0.5)],
                       -1)
    return xp.where((locs[:, :1] >= 0) & (locs[:, 1:] >= 0), refined, locs)


def _border_indices(coords: Tensor, size: int):
    """``(edge, in1, in2, dist)``: the nearest on-map index of integer
    ``coords`` on an axis of ``size >= 3``, the next two inwards and the
    distance out (for on-map coordinates: ``coords`` three times and 0)."""
    edge = coords.clamp(0, size - 1)
    inward = edge - coords  # > 0 left of / above the map, < 0 beyond
    step = inward.sign()
    return edge, edge + step, edge + 2 * step, inward.abs()


def _extend_axis(arr: np.ndarray, keys: np.ndarray, start: np.ndarray,
                 size: int, axis: int) -> None:
    """Overwrite off-map lines of some patches by the capped log-quadratic.

    Args:
        arr (np.ndarray): C-contiguous float64 patches (M, A, B), changed in
            place; along ``axis`` (1 or 2) a patch covers map coordinates
            ``start .. start + len - 1`` of an axis of ``size >= 3`` pixels
            (off-map ones hold anything), including the three outermost
            on-map ones of each side it leaves.
        keys (np.ndarray): Indices of the patches to extend, shape (S, ).
        start (np.ndarray): First map coordinate of each, shape (S, ).
        size (int): Map length along the axis.
        axis (int): The axis of ``arr`` to extend along.
    """
    _, len_a, len_b = arr.shape
    length = arr.shape[axis]
    # flat index = patch * A B + position * stride + other * step
    stride, step = (len_b, 1) if axis == 1 else (1, len_b)
    other = np.arange(len_b if axis == 1 else len_a) * step  # (O, )
    flat = arr.reshape(-1)
    base = keys * (len_a * len_b)
    for first, sign in ((0, 1), (size - 1, -1)):
        # off-map distance of the patch's outermost line on this side
        far = -start if sign > 0 else start + length - 1 - first
        if not (far > 0).any():
            continue
        # logs of the side's three outermost map coordinates (in the patch)
        at = np.clip(first + sign * np.arange(3) - start[:, None], 0,
                     length - 1)
        f0, f1, f2 = np.log(
            np.maximum(
                flat[(base[:, None] + at * stride)[:, :, None] + other],
                EPS)).transpose(1, 0, 2)  # (S, O) each
        # every (patch, distance) pair whose line exists, in one go
        which, dist = np.nonzero(far[:, None] > np.arange(far.max()))
        dist += 1
        pos = first - sign * dist - start[which]
        flat[(base[which] + pos * stride)[:, None] + other] = np.exp(
            log_quadratic(f0[which], f1[which], f2[which],
                          dist[:, None].astype(np.float64)))


def refine_dark(heatmaps: Array,
                locs: Array,
                kernel_size: int,
                step_limit: float = STEP_LIMIT) -> Array:
    """DARK eq. (10) + (9), windowed: O(ks^2) work per keypoint.

    Gathers the ``(ks + 4)^2`` patch around each argmax that the 5x5 Taylor
    window needs, blurs it axis by axis, each pass on the patch extended by
    the capped log-quadratic (module docstring) where it leaves the map;
    clamps at ``EPS``, takes the log and adds :func:`taylor_offset` (with
    the kernel's sigma: windows that are no blurred blob get no step), then
    :func:`keep_on_map`. Every keypoint with an argmax is refined, border
    included; ``-1`` locations and maps under 3x3 are returned unchanged.

    Args:
        heatmaps (np.ndarray | Tensor): Heatmaps in shape (..., H, W).
        locs (np.ndarray | Tensor): Integer argmax ``(x, y)``, (..., 2).
        kernel_size (int): Odd blur kernel size ``ks``.
        step_limit (float): Largest Taylor step per axis in heatmap
            pixels. Defaults to :data:`STEP_LIMIT` (3).

    Returns:
        np.ndarray | Tensor: Float64 locations in shape (..., 2).
    """
    height, width = heatmaps.shape[-2:]
    if height < 3 or width < 3:
        return cast(locs, 'float64')
    flat = locs.reshape(-1, 2)
    half = kernel_size // 2 + 2  # kernel radius + Taylor window radius
    span = arange(2 * half + 1, flat) - half
    xs, ys = flat[:, :1] + span, flat[:, 1:] + span  # (M, P), P = ks + 4
    maps = heatmaps.reshape(-1, height, width)
    if isinstance(maps, Tensor):
        blurred = _blur_patches_torch(maps, xs, ys, kernel_size)
    else:
        blurred = _blur_patches(maps, xs, ys, kernel_size)
    logwin = namespace(blurred).log(blurred.clip(EPS, None))
    offset = taylor_offset(logwin, step_limit, kernel_sigma(kernel_size))
    return keep_on_map(flat, offset, height, width).reshape(locs.shape)


def _blur_patches(maps: np.ndarray, xs: np.ndarray, ys: np.ndarray,
                  kernel_size: int) -> np.ndarray:
    """The blurred, border-extended windows of :func:`refine_dark`: float64
    (M, 5, 5) from heatmaps (M, H, W) and the map columns ``xs`` and rows
    ``ys`` of each patch, (M, P) with P = ks + 4."""
    _, height, width = maps.shape
    # one flat gather (faster than 3-D fancy indexing), edge-clipped
    index = ((np.arange(len(maps)) * (height * width))[:, None, None] +
             (ys.clip(0, height - 1) * width)[:, :, None] +
             xs.clip(0, width - 1)[:, None, :])
    patch = np.take(maps.reshape(-1), index).astype(np.float64)
    kernel = gaussian_kernel_1d(kernel_size)
    # along x: extend the patches that leave the map, blur -> (M, P, 5)
    out = np.nonzero((xs[:, 0] < 0) | (xs[:, -1] >= width))[0]
    if len(out):
        _extend_axis(patch, out, xs[out, 0], width, 2)
    blur_x = np.ascontiguousarray(
        sliding_window_view(patch, kernel_size, axis=2) @ kernel)
    # along y: the same on the x-blurred columns, blur -> (M, 5, 5)
    out = np.nonzero((ys[:, 0] < 0) | (ys[:, -1] >= height))[0]
    if len(out):
        _extend_axis(blur_x, out, ys[out, 0], height, 1)
    return sliding_window_view(blur_x, kernel_size, axis=1) @ kernel


def _blur_patches_torch(maps: Tensor, xs: Tensor, ys: Tensor,
                        kernel_size: int) -> Tensor:
    """Torch twin of :func:`_blur_patches` (same shapes and numbers),
    branch-free so that the graph exports to ONNX."""
    _, height, width = maps.shape
    ex, x1, x2, dist_x = _border_indices(xs, width)
    ey, y1, y2, dist_y = _border_indices(ys, height)
    m = arange(maps.shape[0], maps)[:, None, None]
    row = ey[:, :, None]
    patch = maps[m, row, ex[:, None, :]].double()
    # along x: extend every patch (no data-dependent branch), blur
    logs = [
        maps[m, row, c[:, None, :]].double().clamp(min=EPS).log()
        for c in (ex, x1, x2)
    ]
    ext = log_quadratic(*logs, dist_x[:, None, :].double()).exp()
    patch = torch.where(dist_x[:, None, :] > 0, ext, patch)
    kernel = gaussian_kernel_1d(kernel_size).tolist()
    # separable blur as a sum over the ks taps (slices, not unfold, so that
    # the graph exports to ONNX with a dynamic number of keypoints)
    blur_x = sum(k * patch[:, :, j:j + 5] for j, k in enumerate(kernel))
    # along y on the x-blurred columns: rows y1, y2 sit at y1 - ys[:, 0]
    log_x = blur_x.clamp(min=EPS).log()
    at = [(r - ys[:, :1]).clamp(0, xs.shape[1] - 1)[:, :, None].expand(
        -1, -1, 5) for r in (y1, y2)]
    ext = log_quadratic(log_x, log_x.gather(1, at[0]),
                        log_x.gather(1, at[1]), dist_y[:, :, None].double())
    blur_x = torch.where(dist_y[:, :, None] > 0, ext.exp(), blur_x)
    return sum(k * blur_x[:, j:j + 5, :] for j, k in enumerate(kernel))
