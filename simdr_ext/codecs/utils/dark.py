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
blurred values at ``EPS`` before the log.

Borders: zero padding (mmpose, the DARK code) pulls the blurred peak of a
keypoint near the border inwards (a clean unbiased Gaussian of sigma 2
centred 0.3 px from the edge comes out about 0.9 px inside with kernel
11), and both codes skip the Taylor step within 2 px of the border. Edge
replication is worse (it adds mass outside: about 2 px outwards). Here
the separable blur runs axis by axis, and before each pass the map is
extended beyond its border along that axis by the quadratic through the
log of its three outermost pixels, i.e. by the Gaussian through them,
capped at the edge value (the map of a keypoint whose rounded centre is on
the map does not grow outwards): x first on each row, then y on each
column of the x-blurred map. This is exact on a Gaussian (blurred along x
it is still a Gaussian in y), so the Taylor step sees the untruncated blob
and keypoints on the border are refined like interior ones.
:func:`border_extrapolate` extends whole maps and
:func:`refine_dark_full` is the full-map reference of the windowed
:func:`refine_dark`, to rounding. Maps narrower than 3 px on either axis
hold no parabola and are not refined.
"""
from typing import Optional, Tuple

import numpy as np
import torch
from numpy.lib.stride_tricks import sliding_window_view
from torch import Tensor

from .gaussian import gaussian_kernel_1d, kernel_sigma

# floor before the log, as mmpose's refine_keypoints_dark (np.maximum 1e-10)
EPS = 1e-10
# largest Taylor step per axis, in heatmap pixels: the smallest whole pixel
# with which no informative case of docs/dark_decoding.md (noisy, flat-top,
# distractor, near-border maps) decodes worse than DarkPose's unbounded step
STEP_LIMIT = 3.0
# least log curvature taken as concave: float64 rounding of a constant map
# gives second differences near 1e-16, the log of a Gaussian of sigma s
# blurred by sigma k has -1 / (s^2 + k^2), so 1e-9 only drops blobs wider
# than 3e4 px
CURVATURE_EPS = 1e-9
# the log of a map blurred by a Gaussian of sigma k has Hessian
# eigenvalues >= -1 / k^2 where the map is >= 0 (equal for a single spike);
# below -SHARPEST / k^2 the window holds negative or clamped values and its
# log says nothing. Above -1 / (2 (WIDEST k)^2) the blurred blob would be
# wider than WIDEST kernel sigmas: a near-singular Hessian, whose step
# amplifies float rounding of the map (a garbage map, not a keypoint)
SHARPEST = 2.0
WIDEST = 4.0


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


def taylor_offset(logwin: np.ndarray,
                  limit: float = STEP_LIMIT,
                  blur_sigma: Optional[float] = None) -> np.ndarray:
    """DARK eq. (9) on 5x5 windows of the log heatmap: ``-H^-1 grad``.

    mmpose's ``refine_keypoints_dark`` stencils around the centre
    ``f = logwin[:, 2, 2]`` (rows are y): ``dx = (f[x+1] - f[x-1]) / 2``,
    ``dxx = (f[x+2] - 2 f + f[x-2]) / 4``, ``dxy = (f[y+1, x+1] -
    f[y-1, x+1] - f[y+1, x-1] + f[y-1, x-1]) / 4``.

    The step is taken only where the log map is concave at the centre
    (``dxx < 0`` and ``det(H) > 0``, as the log of a Gaussian is, beyond
    float rounding: :data:`CURVATURE_EPS`) and, given the blur's
    ``blur_sigma`` ``k``, shaped like a blurred blob: both eigenvalues of
    the Hessian in ``[-SHARPEST / k^2, -1 / (2 (WIDEST k)^2)]`` (a clean
    Gaussian of sigma s has ``-1 / (s^2 + k^2)``); where
    eq. (9) moves to the maximum of the fitted quadratic; elsewhere that
    point is a saddle or a minimum and the offset is 0. mmpose and the
    DARK code step wherever ``det(H) != 0``, which on flat or noisy maps
    throws a keypoint thousands of pixels away. The step is then clipped
    to ``[-limit, limit]`` per axis, which bounds what a nearly singular
    concave window (a garbage map) can do. ``limit = 3``: noisy Gaussians
    need steps over 1 px (the former rule refused them and doubled the
    mean error at noise 0.1) and flat tops over 2 px (the argmax of a
    plateau is its first pixel, up to 3 px from the centre), while a
    uniform-noise map moves at most ``3 sqrt(2)`` px, where the unbounded
    step reaches thousands; ``docs/dark_decoding.md`` has the measured
    table.

    Args:
        logwin (np.ndarray): Log heatmap windows in shape (M, 5, 5).
        limit (float): Largest step per axis in heatmap pixels, > 0.
            Defaults to :data:`STEP_LIMIT` (3).
        blur_sigma (float, optional): Sigma of the blur the windows went
            through; ``None`` checks concavity only. Defaults to ``None``.

    Returns:
        np.ndarray: Float64 offsets ``(dx, dy)`` in shape (M, 2), within
        ``[-limit, limit]``.
    """
    f = logwin.astype(np.float64)
    dx = 0.5 * (f[:, 2, 3] - f[:, 2, 1])
    dy = 0.5 * (f[:, 3, 2] - f[:, 1, 2])
    dxx = 0.25 * (f[:, 2, 4] - 2 * f[:, 2, 2] + f[:, 2, 0])
    dyy = 0.25 * (f[:, 4, 2] - 2 * f[:, 2, 2] + f[:, 0, 2])
    dxy = 0.25 * (f[:, 3, 3] - f[:, 1, 3] - f[:, 3, 1] + f[:, 1, 1])
    det = dxx * dyy - dxy**2
    concave = (dxx < -CURVATURE_EPS) & (det > CURVATURE_EPS**2)
    if blur_sigma is not None:
        mid = 0.5 * (dxx + dyy)
        rad = np.sqrt(0.25 * (dxx - dyy)**2 + dxy**2)
        concave = concave & (
            mid + rad <= -0.5 / (WIDEST * blur_sigma)**2) & (
                mid - rad >= -SHARPEST / blur_sigma**2)
    safe = np.where(concave, det, 1.0)
    # closed-form 2x2 inverse: H^-1 = [[dyy, -dxy], [-dxy, dxx]] / det
    offset = -np.stack([dyy * dx - dxy * dy, dxx * dy - dxy * dx],
                       -1) / safe[:, None]
    offset = np.clip(offset, -limit, limit)
    return np.where(concave[:, None], offset, 0.0)


def taylor_offset_torch(logwin: Tensor,
                        limit: float = STEP_LIMIT,
                        blur_sigma: Optional[float] = None) -> Tensor:
    """Torch twin of :func:`taylor_offset`.

    Args:
        logwin (Tensor): Log heatmap windows in shape (M, 5, 5).
        limit (float): Largest step per axis in heatmap pixels.
        blur_sigma (float, optional): Sigma of the blur; ``None`` checks
            concavity only.

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
    concave = (dxx < -CURVATURE_EPS) & (det > CURVATURE_EPS**2)
    if blur_sigma is not None:
        mid = 0.5 * (dxx + dyy)
        rad = (0.25 * (dxx - dyy)**2 + dxy**2).sqrt()
        concave = concave & (
            mid + rad <= -0.5 / (WIDEST * blur_sigma)**2) & (
                mid - rad >= -SHARPEST / blur_sigma**2)
    safe = torch.where(concave, det, torch.ones_like(det))
    offset = -torch.stack([dyy * dx - dxy * dy, dxx * dy - dxy * dx],
                          -1) / safe[:, None]
    offset = offset.clamp(-limit, limit)
    return torch.where(concave[:, None], offset, torch.zeros_like(offset))


def _lagrange_weights(dist):
    """Weights of ``f0, f1, f2`` in the quadratic through ``(0, f0), (1,
    f1), (2, f2)`` evaluated at ``-dist`` (numpy arrays or tensors)."""
    return [
        0.5 * (dist + 1) * (dist + 2), -dist * (dist + 2),
        0.5 * dist * (dist + 1)
    ]


def _log_quadratic(f0, f1, f2, dist):
    """Log value ``dist`` pixels beyond an edge, capped at the edge value.

    The quadratic through ``(0, f0), (1, f1), (2, f2)`` (the log of the
    edge pixel and of the next two inwards) at ``-dist`` (Lagrange form);
    ``dist = 0`` gives ``f0``. Works on numpy arrays and tensors alike.
    """
    w0, w1, w2 = _lagrange_weights(dist)
    ext = w0 * f0 + w1 * f1 + w2 * f2
    if isinstance(ext, Tensor):
        return torch.minimum(ext, f0)
    return np.minimum(ext, f0)


def _border_indices(coords, size: int):
    """Nearest on-map index, the next two inwards and the distance out.

    Args:
        coords: Integer coordinates (any shape, numpy or torch) on an axis
            of ``size >= 3`` pixels.
        size (int): Axis length.

    Returns:
        tuple: ``(edge, in1, in2, dist)``, like ``coords``: for an on-map
        coordinate ``edge = in1 = in2 = coords`` and ``dist = 0``.
    """
    if isinstance(coords, Tensor):
        edge = coords.clamp(0, size - 1)
        inward = edge - coords  # > 0 left of / above the map, < 0 beyond
        step, dist = inward.sign(), inward.abs()
    else:
        edge = np.clip(coords, 0, size - 1)
        inward = edge - coords
        step, dist = np.sign(inward), np.abs(inward)
    return edge, edge + step, edge + 2 * step, dist


def _extend_axis(arr: np.ndarray, keys: np.ndarray, start: np.ndarray,
                 size: int, axis: int) -> None:
    """Overwrite off-map lines of some patches by the capped log-quadratic.

    Args:
        arr (np.ndarray): C-contiguous float64 patches in shape (M, A, B),
            changed in place; along ``axis`` a patch covers map coordinates
            ``start .. start + len - 1`` of an axis of ``size >= 3``
            pixels, off-map ones holding anything; if a side leaves the
            map, its three outermost on-map coordinates are in the patch
            (``len >= 5`` around an on-map centre).
        keys (np.ndarray): Indices of the patches to extend, shape (S, ).
        start (np.ndarray): First map coordinate of each, shape (S, ).
        size (int): Map length along the axis.
        axis (int): 1 or 2, the axis of ``arr`` to extend along.
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
        # quadratic through (0, f0), (1, f1), (2, f2) at -d: f0 + d (a d - b)
        a = 0.5 * (f0 - 2 * f1 + f2)
        b = 0.5 * (4 * f1 - 3 * f0 - f2)
        # every (patch, distance) pair whose line exists, in one go
        which, dist = np.nonzero(far[:, None] > np.arange(far.max()))
        dist += 1
        pos = first - sign * dist - start[which]
        dist = dist[:, None].astype(np.float64)
        edge = f0[which]
        flat[(base[which] + pos * stride)[:, None] + other] = np.exp(
            np.minimum(edge + dist * (a[which] * dist - b[which]), edge))


def _keep_on_map(locs: np.ndarray, offset: np.ndarray, height: int,
                 width: int) -> np.ndarray:
    """``locs + offset``, kept where it rounds onto the map.

    A keypoint decodes within ``[-0.5, W - 0.5] x [-0.5, H - 0.5]``, the
    rule by which the encoders keep a keypoint (its rounded centre on the
    map): a noisy argmax in a corner can otherwise step up to
    ``STEP_LIMIT`` outwards on both axes. ``-1`` locations (no maximum)
    are returned unchanged.

    Args:
        locs (np.ndarray): Integer argmax ``(x, y)`` in shape (M, 2).
        offset (np.ndarray): Taylor offsets in shape (M, 2).
        height (int): ``H``.
        width (int): ``W``.

    Returns:
        np.ndarray: Float64 locations in shape (M, 2).
    """
    refined = np.clip(locs + offset, -0.5, [width - 0.5, height - 0.5])
    ok = (locs[:, :1] >= 0) & (locs[:, 1:] >= 0)
    return np.where(ok, refined, locs.astype(np.float64))


def refine_dark(heatmaps: np.ndarray,
                locs: np.ndarray,
                kernel_size: int,
                step_limit: float = STEP_LIMIT) -> np.ndarray:
    """DARK eq. (10) + (9), windowed: O(ks^2) work per keypoint.

    Gathers the ``(ks + 4)^2`` patch around each argmax that the 5x5 Taylor
    window needs and blurs it axis by axis, each pass on the patch extended
    along its axis by the capped log-quadratic of the module docstring where it
    leaves the map (x: from the three outermost columns of each row; y: from
    the three outermost rows of the x-blurred patch); then clamps at ``EPS``,
    takes the log and adds :func:`taylor_offset` (with the kernel's sigma, so
    windows that are no blurred blob get no step), keeping the result where it
    rounds onto the map (``[-0.5, W - 0.5] x [-0.5, H - 0.5]``). Every keypoint
    with an argmax is refined, border included; ``-1`` locations and maps under
    3x3 are returned unchanged. Equal to :func:`refine_dark_full` to rounding.

    Args:
        heatmaps (np.ndarray): Heatmaps in shape (..., H, W).
        locs (np.ndarray): Integer argmax ``(x, y)`` in shape (..., 2).
        kernel_size (int): Odd blur kernel size ``ks``.
        step_limit (float): Largest Taylor step per axis in heatmap
            pixels. Defaults to :data:`STEP_LIMIT` (3).

    Returns:
        np.ndarray: Float64 locations in shape (..., 2).
    """
    height, width = heatmaps.shape[-2:]
    flat = locs.reshape(-1, 2)
    if height < 3 or width < 3:
        return locs.astype(np.float64)
    maps = heatmaps.reshape(-1, height * width)
    half = kernel_size // 2 + 2  # kernel radius + Taylor window radius
    span = np.arange(-half, half + 1)
    xs, ys = flat[:, :1] + span, flat[:, 1:] + span  # (M, P), P = ks + 4
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
    blurred = sliding_window_view(blur_x, kernel_size, axis=1) @ kernel
    offset = taylor_offset(
        np.log(np.maximum(blurred, EPS)), step_limit,
        kernel_sigma(kernel_size))
    return _keep_on_map(flat, offset, height, width).reshape(locs.shape)


def refine_dark_torch(heatmaps: Tensor,
                      locs: Tensor,
                      kernel_size: int,
                      step_limit: float = STEP_LIMIT) -> Tensor:
    """Torch twin of :func:`refine_dark` (float64 inside, same results).

    Args:
        heatmaps (Tensor): Heatmaps in shape (..., H, W).
        locs (Tensor): Integer argmax ``(x, y)`` in shape (..., 2).
        kernel_size (int): Odd blur kernel size ``ks``.
        step_limit (float): Largest Taylor step per axis in heatmap
            pixels. Defaults to :data:`STEP_LIMIT` (3).

    Returns:
        Tensor: Float64 locations in shape (..., 2).
    """
    height, width = heatmaps.shape[-2:]
    if height < 3 or width < 3:
        return locs.double()
    maps = heatmaps.reshape(-1, height, width)
    flat = locs.reshape(-1, 2)
    half = kernel_size // 2 + 2  # kernel radius + Taylor window radius
    span = torch.arange(-half, half + 1, device=maps.device)
    xs, ys = flat[:, :1] + span, flat[:, 1:] + span
    ex, x1, x2, dist_x = _border_indices(xs, width)
    ey, y1, y2, dist_y = _border_indices(ys, height)
    # maps.shape[0], not len(maps): the count stays dynamic in ONNX export
    m = torch.arange(maps.shape[0], device=maps.device)[:, None, None]
    row = ey[:, :, None]
    patch = maps[m, row, ex[:, None, :]].double()
    # along x: extend every patch (no data-dependent branch, so the graph
    # exports), blur -> (M, P, 5)
    logs = [
        maps[m, row, c[:, None, :]].double().clamp(min=EPS).log()
        for c in (ex, x1, x2)
    ]
    ext = _log_quadratic(*logs, dist_x[:, None, :].double()).exp()
    patch = torch.where(dist_x[:, None, :] > 0, ext, patch)
    kernel = gaussian_kernel_1d(kernel_size).tolist()
    # separable blur as a sum over the ks taps (slices, not unfold, so that
    # the graph exports to ONNX with a dynamic number of keypoints)
    blur_x = sum(k * patch[:, :, j:j + 5] for j, k in enumerate(kernel))
    # along y on the x-blurred columns: rows y1, y2 sit at y1 - ys[:, 0]
    log_x = blur_x.clamp(min=EPS).log()
    size = 2 * half + 1
    at = [(r - ys[:, :1]).clamp(0, size - 1)[:, :, None].expand(-1, -1, 5)
          for r in (y1, y2)]
    ext = _log_quadratic(log_x, log_x.gather(1, at[0]),
                         log_x.gather(1, at[1]), dist_y[:, :, None].double())
    blur_x = torch.where(dist_y[:, :, None] > 0, ext.exp(), blur_x)
    blurred = sum(k * blur_x[:, j:j + 5, :] for j, k in enumerate(kernel))
    offset = taylor_offset_torch(blurred.clamp(min=EPS).log(), step_limit,
                                 kernel_sigma(kernel_size))
    flat = flat.double()
    # as _keep_on_map: rounds onto the map, -1 locations stay
    refined = torch.stack([(flat[:, 0] + offset[:, 0]).clamp(
        -0.5, width - 0.5), (flat[:, 1] + offset[:, 1]).clamp(
            -0.5, height - 0.5)], -1)
    ok = (flat[:, :1] >= 0) & (flat[:, 1:] >= 0)
    return torch.where(ok, refined, flat).reshape(locs.shape)


def border_extrapolate(heatmaps: np.ndarray, pad: int,
                       axis: int) -> np.ndarray:
    """Extend whole maps by ``pad`` pixels along one axis.

    Each line along ``axis`` is extended on both sides by the capped
    log-quadratic through its three outermost values (module docstring);
    on-map values are kept. A Gaussian extends to the same Gaussian.

    Args:
        heatmaps (np.ndarray): Maps in shape (M, H, W), at least 3 long
            along ``axis``.
        pad (int): Pixels added on each side, >= 0.
        axis (int): 1 (y) or 2 (x).

    Returns:
        np.ndarray: Float64 maps, ``2 pad`` longer along ``axis``.
    """
    lines = np.moveaxis(heatmaps.astype(np.float64), axis, 0)
    logs = np.log(np.maximum(lines, EPS))
    dist = np.arange(pad, 0, -1, dtype=np.float64)[:, None, None]
    lo = _log_quadratic(logs[0], logs[1], logs[2], dist)  # outermost first
    hi = _log_quadratic(logs[-1], logs[-2], logs[-3], dist[::-1])
    return np.moveaxis(
        np.concatenate([np.exp(lo), lines, np.exp(hi)], 0), 0, axis)


def blur_extended(heatmaps: np.ndarray, kernel_size: int) -> np.ndarray:
    """The blur of :func:`refine_dark` on whole maps, 2 px beyond them.

    :func:`border_extrapolate` along x by ``ks // 2 + 2``, blur along x,
    the same along y.

    Args:
        heatmaps (np.ndarray): Heatmaps in shape (M, H, W), H, W >= 3.
        kernel_size (int): Odd blur kernel size ``ks``.

    Returns:
        np.ndarray: Float64 blurred maps in shape (M, H + 4, W + 4); map
        pixel ``(x, y)`` is at ``[y + 2, x + 2]``.
    """
    pad = kernel_size // 2 + 2
    kernel = gaussian_kernel_1d(kernel_size)
    maps = border_extrapolate(heatmaps, pad, 2)
    blur_x = sliding_window_view(maps, kernel_size, axis=2) @ kernel
    blur_x = border_extrapolate(blur_x, pad, 1)
    return sliding_window_view(blur_x, kernel_size, axis=1) @ kernel


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


def refine_dark_full(heatmaps: np.ndarray,
                     locs: np.ndarray,
                     kernel_size: int,
                     step_limit: float = STEP_LIMIT) -> np.ndarray:
    """Reference DARK refinement on full maps (O(H W ks) per keypoint).

    :func:`blur_extended` (the extended, blurred map 2 px beyond the map for
    the 5x5 window), clamp at ``EPS``, log, then :func:`taylor_offset` on the
    5x5 window around each argmax, kept on the map as :func:`refine_dark`. The
    rescale of eq. (11) is left out: it changes no derivative of the log
    (module docstring).

    Args:
        heatmaps (np.ndarray): Heatmaps in shape (..., H, W).
        locs (np.ndarray): Integer argmax ``(x, y)`` in shape (..., 2).
        kernel_size (int): Odd blur kernel size ``ks``.
        step_limit (float): Largest Taylor step per axis in heatmap
            pixels. Defaults to :data:`STEP_LIMIT` (3).

    Returns:
        np.ndarray: Float64 locations in shape (..., 2).
    """
    height, width = heatmaps.shape[-2:]
    if height < 3 or width < 3:
        return locs.astype(np.float64)
    blurred = blur_extended(heatmaps.reshape(-1, height, width), kernel_size)
    logmap = np.log(np.maximum(blurred, EPS))  # (M, H + 4, W + 4)
    flat = locs.reshape(-1, 2)
    span = np.arange(5)  # map pixel x is column x + 2 of logmap
    ys = np.clip(flat[:, 1:] + span, 0, height + 3)[:, :, None]
    xs = np.clip(flat[:, :1] + span, 0, width + 3)[:, None, :]
    logwin = logmap[np.arange(len(logmap))[:, None, None], ys, xs]
    offset = taylor_offset(logwin, step_limit, kernel_sigma(kernel_size))
    return _keep_on_map(flat, offset, height, width).reshape(locs.shape)
