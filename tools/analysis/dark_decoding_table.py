# Copyright (c) simdr_ext contributors. All rights reserved.
"""DARK Taylor-step rules on synthetic heatmaps whose truth is known.

Example::

    python tools/analysis/dark_decoding_table.py --num 2000 --seed 0

Every case draws ``--num`` heatmaps of ``--heatmap-size`` with a known
keypoint (an unbiased Gaussian of ``--sigma`` at a sub-pixel centre, as
DARK eq. 14), argmax-decodes them and refines the argmax with:

- ``simdr_ext``: :func:`simdr_ext.codecs.utils.dark.refine_dark` (border
  extension, concave log map only, step clipped at ``STEP_LIMIT`` per axis);
- the same with other clip limits (1, 3, none) to justify the limit;
- ``old``: simdr_ext's former rule, zero-padded blur, step only where the
  log map is concave and the step is <= 1 px on both axes, and only for
  ``1 < x < W - 2`` and ``1 < y < H - 2``;
- ``DarkPose``: the rule of ilovepose/DarkPose ``lib/core/inference.py``
  (``get_final_preds``), written here from its description: zero-padded
  ``cv2.GaussianBlur``, ``max(hm, 1e-10)``, log, the Taylor step wherever
  ``det(H) != 0`` and ``1 < x < W - 2`` and ``1 < y < H - 2``.

The module also holds the full-map references the tests check the windowed
decoder against: :func:`modulate_heatmaps` (mmpose's ``gaussian_blur``,
eq. 10-11) and :func:`refine_dark_full` (``refine_dark`` on whole maps).

Prints a markdown table of the mean / 95th-percentile / max Euclidean error
in heatmap pixels per case and rule, and for the garbage maps (uniform
noise, no truth) how far each rule moves the argmax. Exits 1 when the
simdr_ext rule has a larger mean error than DarkPose's on an informative
case, else 0.
"""
import argparse
import sys
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from simdr_ext.codecs.utils.dark import (EPS, SHARPEST, STEP_LIMIT, WIDEST,
                                         gaussian_kernel_1d, heatmap_argmax,
                                         keep_on_map, kernel_sigma,
                                         log_quadratic, refine_dark,
                                         taylor_offset)
from simdr_ext.utils.cli import tool_parser

NOISE_LEVELS = (0.0, 0.05, 0.1, 0.2)
# keypoints of the interior cases stay this far from the border, so that
# no blur patch (kernel radius + 2 = 7 px for kernel 11) reaches it
INTERIOR_MARGIN = 10.0


def border_extrapolate(heatmaps: np.ndarray, pad: int,
                       axis: int) -> np.ndarray:
    """Extend whole maps by ``pad`` pixels along one axis.

    Each line along ``axis`` is extended on both sides by the capped
    log-quadratic through its three outermost values (``log_quadratic``);
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
    lo = log_quadratic(logs[0], logs[1], logs[2], dist)  # outermost first
    hi = log_quadratic(logs[-1], logs[-2], logs[-3], dist[::-1])
    return np.moveaxis(
        np.concatenate([np.exp(lo), lines, np.exp(hi)], 0), 0, axis)


def blur_extended(heatmaps: np.ndarray, kernel_size: int) -> np.ndarray:
    """The blur of ``refine_dark`` on whole maps, 2 px beyond them.

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
    """Reference of ``refine_dark`` on full maps (O(H W ks) per keypoint).

    :func:`blur_extended`, clamp at ``EPS``, log, then ``taylor_offset``
    on the 5x5 window around each argmax, kept on the map as
    ``refine_dark`` does. The rescale of eq. (11) is left out: it changes no
    derivative of the log.

    Args:
        heatmaps (np.ndarray): Heatmaps in shape (..., H, W).
        locs (np.ndarray): Integer argmax ``(x, y)`` in shape (..., 2).
        kernel_size (int): Odd blur kernel size ``ks``.
        step_limit (float): Largest Taylor step per axis in heatmap
            pixels. Defaults to ``STEP_LIMIT`` (3).

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
    return keep_on_map(flat, offset, height, width).reshape(locs.shape)


def gaussian_maps(centres: np.ndarray, size: Tuple[int, int],
                  sigma: float) -> np.ndarray:
    """``exp(-((x - u)^2 + (y - v)^2) / (2 sigma^2))`` per centre.

    Args:
        centres (np.ndarray): ``(u, v)`` in heatmap pixels, shape (M, 2).
        size (tuple): ``(W, H)``.
        sigma (float): Standard deviation in heatmap pixels.

    Returns:
        np.ndarray: Float64 maps in shape (M, H, W).
    """
    width, height = size
    gx = np.exp(-(np.arange(width) - centres[:, :1])**2 / (2 * sigma**2))
    gy = np.exp(-(np.arange(height) - centres[:, 1:])**2 / (2 * sigma**2))
    return gy[:, :, None] * gx[:, None, :]


def interior_centres(rng: np.random.Generator, num: int,
                     size: Tuple[int, int]) -> np.ndarray:
    """Uniform sub-pixel centres at least INTERIOR_MARGIN from the border."""
    low = INTERIOR_MARGIN
    high = np.array(size, np.float64) - 1 - INTERIOR_MARGIN
    return low + (high - low) * rng.random((num, 2))


def border_centres(rng: np.random.Generator, num: int,
                   size: Tuple[int, int]) -> np.ndarray:
    """Centres within [-0.5, 3) px of a border; a quarter in a corner.

    The rounded centre stays on the map (the encoders' rule), so the
    distance beyond the edge is at most 0.5 px.
    """
    size = np.array(size, np.float64)
    centres = interior_centres(rng, num, tuple(size.astype(int)))
    depth = -0.5 + 3.5 * rng.random((num, 2))
    axis = rng.integers(0, 2, num)
    far = rng.random((num, 2)) < 0.5  # the right / bottom edge
    for i in range(num):
        axes = (0, 1) if i % 4 == 0 else (axis[i], )
        for a in axes:
            centres[i, a] = (size[a] - 1 - depth[i, a]
                             if far[i, a] else depth[i, a])
    return centres


def make_cases(rng: np.random.Generator, num: int, size: Tuple[int, int],
               sigma: float) -> Dict[str, Tuple[np.ndarray, np.ndarray]]:
    """Heatmaps and truths per case (truth ``None`` for garbage maps)."""
    width, height = size
    cases = {}
    for noise in NOISE_LEVELS:
        centres = interior_centres(rng, num, size)
        maps = gaussian_maps(centres, size, sigma)
        maps += noise * rng.standard_normal(maps.shape)
        cases[f'Gaussian + N(0, {noise:g}^2) noise'] = (maps, centres)
    for gain, name in ((2.0, 'saturated'), (4.0, 'plateau'),
                       (8.0, 'wide plateau')):
        centres = interior_centres(rng, num, size)
        maps = np.minimum(gain * gaussian_maps(centres, size, sigma), 1.0)
        cases[f'flat top: {name}, min({gain:g} G, 1)'] = (maps, centres)
    for dist in (4.0, 6.0):
        centres = interior_centres(rng, num, size)
        angle = 2 * np.pi * rng.random(num)
        other = centres + dist * np.stack([np.cos(angle), np.sin(angle)], 1)
        maps = np.maximum(
            gaussian_maps(centres, size, sigma),
            0.7 * gaussian_maps(other, size, sigma))
        cases[f'distractor: 0.7 peak {dist:g} px away'] = (maps, centres)
    for noise in (0.0, 0.1):
        centres = border_centres(rng, num, size)
        maps = gaussian_maps(centres, size, sigma)
        maps += noise * rng.standard_normal(maps.shape)
        cases[f'near border (< 3 px), noise {noise:g}'] = (maps, centres)
    cases['garbage: U[0, 1) noise'] = (rng.random((num, height, width)),
                                       None)
    return cases


def darkpose_log_maps(maps: np.ndarray, kernel_size: int) -> np.ndarray:
    """Zero-padded ``cv2.GaussianBlur``, ``max(., 1e-10)``, log.

    The max-rescale that follows the blur in DarkPose adds a constant to
    the log and is left out.
    """
    border = (kernel_size - 1) // 2
    out = np.empty(maps.shape, np.float64)
    for i, hm in enumerate(maps):
        padded = np.pad(hm.astype(np.float64), border)
        blurred = cv2.GaussianBlur(padded, (kernel_size, kernel_size), 0)
        out[i] = blurred[border:border + hm.shape[0],
                         border:border + hm.shape[1]]
    return np.log(np.maximum(out, 1e-10))


def taylor_terms(logmaps: np.ndarray, locs: np.ndarray):
    """Gradient, Hessian terms and inside mask of DARK eq. (9) stencils."""
    height, width = logmaps.shape[1:]
    x, y = locs[:, 0], locs[:, 1]
    inside = (x > 1) & (x < width - 2) & (y > 1) & (y < height - 2)
    m = np.arange(len(logmaps))
    xc, yc = np.clip(x, 2, width - 3), np.clip(y, 2, height - 3)

    def f(dy, dx):
        return logmaps[m, yc + dy, xc + dx]

    dx = 0.5 * (f(0, 1) - f(0, -1))
    dy = 0.5 * (f(1, 0) - f(-1, 0))
    dxx = 0.25 * (f(0, 2) - 2 * f(0, 0) + f(0, -2))
    dyy = 0.25 * (f(2, 0) - 2 * f(0, 0) + f(-2, 0))
    dxy = 0.25 * (f(1, 1) - f(-1, 1) - f(1, -1) + f(-1, -1))
    return dx, dy, dxx, dyy, dxy, inside


def hessian_range(maps: np.ndarray, locs: np.ndarray,
                  kernel_size: int) -> Tuple[float, float]:
    """Extreme Hessian eigenvalues of the log map at concave argmaxes.

    The log of simdr_ext's extended, blurred map (``blur_extended``);
    simdr_ext steps only where both eigenvalues lie in
    ``[-SHARPEST / k^2, -1 / (2 (WIDEST k)^2)]``.
    """
    logs = np.log(np.maximum(blur_extended(maps, kernel_size), EPS))
    dx, dy, dxx, dyy, dxy, _ = taylor_terms(logs, locs + 2)
    mid = 0.5 * (dxx + dyy)
    rad = np.sqrt(0.25 * (dxx - dyy)**2 + dxy**2)
    concave = (dxx < 0) & (dxx * dyy - dxy**2 > 0)
    if not concave.any():
        return float('nan'), float('nan')
    return float((mid - rad)[concave].min()), float((mid + rad)[concave].max())


def newton_step(dx, dy, dxx, dyy, dxy, ok):
    """``-H^-1 grad`` where ``ok``, else 0."""
    det = dxx * dyy - dxy**2
    safe = np.where(ok, det, 1.0)
    step = -np.stack([dyy * dx - dxy * dy, dxx * dy - dxy * dx], 1)
    return np.where(ok[:, None], step / safe[:, None], 0.0)


def darkpose_rule(maps: np.ndarray, locs: np.ndarray,
                  kernel_size: int) -> np.ndarray:
    """DarkPose: step wherever ``det != 0``, inside ``1 < x < W - 2``."""
    dx, dy, dxx, dyy, dxy, inside = taylor_terms(
        darkpose_log_maps(maps, kernel_size), locs)
    ok = inside & (dxx * dyy - dxy**2 != 0)
    return locs + newton_step(dx, dy, dxx, dyy, dxy, ok)


def old_rule(maps: np.ndarray, locs: np.ndarray,
             kernel_size: int) -> np.ndarray:
    """Former simdr_ext: concave and step <= 1 px per axis, interior only."""
    return locs + old_steps(maps, locs, kernel_size)[0]


def old_steps(maps: np.ndarray, locs: np.ndarray, kernel_size: int):
    """Steps of the former rule, and where it refused a concave step."""
    dx, dy, dxx, dyy, dxy, inside = taylor_terms(
        darkpose_log_maps(maps, kernel_size), locs)
    concave = inside & (dxx < 0) & (dxx * dyy - dxy**2 > 0)
    step = newton_step(dx, dy, dxx, dyy, dxy, concave)
    small = (np.abs(step) <= 1.0).all(1)
    return np.where(small[:, None], step, 0.0), concave & ~small


def rules(kernel_size: int) -> Dict[str, Callable]:
    """Name -> ``f(maps, locs) -> locations``; the first is simdr_ext's."""
    table = {
        f'simdr_ext (clip {STEP_LIMIT:g})':
        lambda h, p: refine_dark(h, p, kernel_size)
    }
    for limit in (1.0, 2.0, 3.0, 4.0, np.inf):
        if limit != STEP_LIMIT:
            table[f'clip {limit:g}'] = (
                lambda h, p, limit=limit: refine_dark(h, p, kernel_size,
                                                      limit))
    table['old (<= 1 px)'] = lambda h, p: old_rule(h, p, kernel_size)
    table['DarkPose (det != 0)'] = (
        lambda h, p: darkpose_rule(h, p, kernel_size))
    return table


def run(num: int, seed: int, size: Tuple[int, int], sigma: float,
        kernel_size: int) -> List[dict]:
    """One row per case: per-rule errors (or moves for garbage maps)."""
    rng = np.random.default_rng(seed)
    rows = []
    for case, (maps, truth) in make_cases(rng, num, size, sigma).items():
        locs, _ = heatmap_argmax(maps)
        row = dict(case=case, informative=truth is not None, results={})
        _, refused = old_steps(maps, locs, kernel_size)
        row['old_refused'] = float(refused.mean())
        row['eig'] = hessian_range(maps, locs, kernel_size)
        for name, rule in rules(kernel_size).items():
            decoded = rule(maps, locs)
            ref = locs if truth is None else truth
            err = np.linalg.norm(decoded - ref, axis=1)
            row['results'][name] = (float(err.mean()),
                                    float(np.percentile(err, 95)),
                                    float(err.max()))
        rows.append(row)
    return rows


def format_rows(rows: Sequence[dict]) -> str:
    """Markdown: one line per case, 'mean / p95 / max' per rule."""
    names = list(rows[0]['results'])
    lines = [
        '| case | old rule refused | Hessian eigenvalues | ' +
        ' | '.join(names) + ' |', '|---|---:|---:|' + '---:|' * len(names)
    ]
    for r in rows:
        cells = [
            '{:.4f} / {:.3f} / {:.3g}'.format(*r['results'][n]) for n in names
        ]
        label = r['case'] + ('' if r['informative'] else ' (move, no truth)')
        eig = '{:.4f} .. {:.4f}'.format(*r['eig'])
        lines.append(f"| {label} | {100 * r['old_refused']:.1f}% | {eig} | " +
                     ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def build_parser() -> argparse.ArgumentParser:
    """The command line: the module docstring is its description, its
    examples the epilog."""
    parser = tool_parser(__doc__)
    parser.add_argument(
        '--num', type=int, default=2000, help='heatmaps per case')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument(
        '--heatmap-size',
        type=int,
        nargs=2,
        default=(48, 64),
        metavar=('W', 'H'),
        help='heatmap width and height (both >= 2 * 10 + 2)')
    parser.add_argument(
        '--sigma', type=float, default=2.0, help='Gaussian sigma (px)')
    parser.add_argument(
        '--kernel', type=int, default=11, help='odd blur kernel size')
    return parser


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.num < 1:
        parser.error(f'--num must be >= 1, got {args.num}')
    if min(args.heatmap_size) < 2 * INTERIOR_MARGIN + 2:
        parser.error(f'--heatmap-size {args.heatmap_size} leaves no '
                     f'interior {INTERIOR_MARGIN:g} px from the border')
    if args.sigma <= 0:
        parser.error(f'--sigma must be > 0, got {args.sigma}')
    if args.kernel < 1 or args.kernel % 2 == 0:
        parser.error(f'--kernel must be odd and >= 1, got {args.kernel}')
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    size = tuple(args.heatmap_size)
    rows = run(args.num, args.seed, size, args.sigma, args.kernel)
    print(f'Heatmaps {size[1]}x{size[0]} (H x W), sigma {args.sigma:g}, '
          f'blur kernel {args.kernel}, {args.num} maps per case, seed '
          f'{args.seed}. Cells: Euclidean error in heatmap px, '
          'mean / p95 / max (garbage maps: distance moved from the argmax).')
    k = kernel_sigma(args.kernel)
    print(f'simdr_ext steps where the Hessian eigenvalues of the log map '
          f'lie in [{-SHARPEST / k**2:.3f}, {-0.5 / (WIDEST * k)**2:.4f}] '
          f'(blur sigma {k:g}); the column gives their range over the '
          'concave argmaxes of each case.')
    print()
    print(format_rows(rows))
    first = next(iter(rules(args.kernel)))
    # 1e-6 px: the two blurs (ours, OpenCV's) differ by float rounding
    worse = [
        r['case'] for r in rows if r['informative'] and
        r['results'][first][0] > r['results']['DarkPose (det != 0)'][0] +
        1e-6
    ]
    print()
    if worse:
        print('simdr_ext worse than DarkPose (mean) on: ' + '; '.join(worse))
        return 1
    print('simdr_ext mean error <= DarkPose on every informative case.')
    return 0


if __name__ == '__main__':
    sys.exit(main())
