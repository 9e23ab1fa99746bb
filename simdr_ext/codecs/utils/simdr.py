# Copyright (c) simdr_ext contributors. All rights reserved.
"""1D bins: SimDR binning, one-hot labels and the 1D decoders.

Coordinate convention: a keypoint at ``x`` input pixels is the centre of
pixel ``x`` (mmpose's), and bin ``i`` of a vector of ``round(w * k)`` bins
covers ``x * k`` in ``[i - 1/2, i + 1/2)``, so bin ``i`` decodes to
``i / k`` pixels.
"""
import functools
import math
from typing import Tuple

import numpy as np

from .backend import Array, arange, cast, namespace


def num_bins(length: int, split_ratio: float) -> int:
    """``round(length * k)``, halves up: the ``W * k`` bins of SimDR eq.
    (3) for an axis of ``length`` input pixels (``w`` or ``h``)."""
    return math.floor(length * split_ratio + 0.5)


def keypoint_bins(keypoints: np.ndarray, keypoints_visible: np.ndarray,
                  input_size: Tuple[int, int],
                  split_ratio: float) -> Tuple[np.ndarray, np.ndarray]:
    """SimDR eq. (2): the target bin of every keypoint, and its weight.

    ``x' = round(x * k)`` with halves rounded up. A keypoint gets weight 0
    and bin 0 (a safe index) when it is invisible (``keypoints_visible <
    0.5``), not finite, or its bin falls outside ``[0, round(w * k) - 1]``
    (likewise for y). DARK uses it with ``k = 1`` on heatmap pixels.

    Args:
        keypoints (np.ndarray): Keypoints in input pixels, shape (N, K, 2).
        keypoints_visible (np.ndarray): Visibility in shape (N, K).
        input_size (tuple): Input size ``(w, h)``.
        split_ratio (float): The splitting factor ``k``.

    Returns:
        tuple:
        - bins (np.ndarray): Int64 bins ``(x', y')`` in shape (N, K, 2).
        - weights (np.ndarray): Float32 weights (0 or 1) in shape (N, K).
    """
    scaled = keypoints[..., :2] * split_ratio
    scaled += 0.5
    np.floor(scaled, out=scaled)
    # NaN fails both comparisons and +-inf one of them: no isfinite needed
    inside = (scaled >= 0) & (scaled < _bin_counts(input_size, split_ratio))
    valid = keypoints_visible >= 0.5
    valid &= inside[..., 0]
    valid &= inside[..., 1]
    bins = np.where(valid[..., None], scaled, 0).astype(np.int64)
    return bins, valid.astype(np.float32)


#: ``off_crop`` values: the weight of a keypoint off the input
OFF_CROP = ('zero_weight', 'truncated')


def margin_weights(coords: np.ndarray, keypoints_visible: np.ndarray,
                   size: Tuple[float, float],
                   margins: Tuple[float, float]) -> np.ndarray:
    """Weights of the authors' off-crop rule: 1 for a visible keypoint
    whose Gaussian, cut to a window of ``margin`` either side, reaches the
    crop, else 0.

    Per axis of length ``L`` (``size``) with margin ``m`` (``margins``),
    a keypoint at ``c`` is kept unless ``int(c - m) >= L`` or
    ``int(c + m + 1) < 0``, ``int`` truncating toward zero (SimCC
    ``lib/dataset/JointsDataset.py`` adjust_target_weight l.377-389,
    DarkPose ``lib/dataset/JointsDataset.py`` l.283-295, both with
    ``m = 3 sigma``, l.237 / l.257): kept for ``-m - 2 < c < L + m``.
    Invisible (``keypoints_visible < 0.5``) and non-finite keypoints get
    weight 0.

    Args:
        coords (np.ndarray): Coordinates ``(x, y)`` in the units of
            ``size``, shape (N, K, 2).
        keypoints_visible (np.ndarray): Visibility in shape (N, K).
        size (tuple): Axis lengths ``(w, h)``.
        margins (tuple): Margins ``(m_x, m_y)`` in the same units.

    Returns:
        np.ndarray: Float32 weights (0 or 1) in shape (N, K).
    """
    coords = coords[..., :2].astype(np.float64)
    valid = (keypoints_visible >= 0.5) & np.isfinite(coords).all(-1)
    coords = np.where(valid[..., None], coords, 0.0)
    margins = np.asarray(margins, np.float64)
    low = np.trunc(coords - margins)
    high = np.trunc(coords + margins + 1)
    valid &= ((low < np.asarray(size)) & (high >= 0)).all(-1)
    return valid.astype(np.float32)


@functools.lru_cache(maxsize=64)
def _bin_counts(input_size: Tuple[int, int],
                split_ratio: float) -> np.ndarray:
    """``(Wx, Wy)`` as a read-only array, built once per codec setting."""
    counts = np.array([num_bins(s, split_ratio) for s in input_size],
                      dtype=np.float64)
    counts.flags.writeable = False
    return counts


def smoothed_one_hot(bins: np.ndarray, weights: np.ndarray, length: int,
                     label_smoothing: float) -> np.ndarray:
    """SimDR eq. (3)/(4) with label smoothing ``eps``.

    The target bin gets ``1 - eps``, every other bin ``eps / (L - 1)``, so
    a label sums to 1; weight-0 keypoints get an all-zero label.

    Args:
        bins (np.ndarray): Integer target bins in shape (N, K).
        weights (np.ndarray): Keypoint weights in shape (N, K).
        length (int): Number of bins ``L``.
        label_smoothing (float): ``eps`` in ``[0, 1)``.

    Returns:
        np.ndarray: Float32 labels in shape (N, K, L).
    """
    off = label_smoothing / (length - 1) if length > 1 else 0.0
    labels = np.zeros(bins.shape + (length, ), dtype=np.float32)
    flat = labels.reshape(-1, length)  # a view
    rows = (weights > 0).ravel()
    if off:
        flat[rows] = off
    # plain indexing: put_along_axis costs ~10 us per call on ~17 rows
    flat[rows, bins.ravel()[rows]] = 1.0 - label_smoothing
    return labels


def softmax_argmax(vectors: Array) -> Tuple[Array, Array]:
    """Argmax bin and its softmax probability along the last axis.

    Non-finite logits follow the limits: ``+inf`` bins share the whole mass,
    ``-inf`` bins get 0, an all ``-inf`` vector is uniform (``1 / L``); a
    NaN logit is the argmax (numpy's and torch's rule), probability NaN.

    Args:
        vectors (np.ndarray | Tensor): Float logits in shape (..., L).

    Returns:
        tuple: int64 argmax bins (...) and their float32 probabilities
        (...), of the input's kind.
    """
    xp = namespace(vectors)
    index = vectors.argmax(-1)
    # the value at the argmax (NaN where a NaN is the argmax)
    peak = xp.amax(vectors, -1)[..., None]
    if xp is np and np.isfinite(peak).all():
        shifted = vectors - peak  # no inf - inf: skip the where
    else:
        with np.errstate(invalid='ignore'):  # the +inf bins are the peak
            shifted = xp.where(vectors == peak, 0.0, vectors - peak)
    # softmax at the argmax = 1 / sum(exp(v - v_max)): no overflow
    return index, cast(1.0 / xp.exp(shifted).sum(-1), 'float32')


def parabola_offset_1d(logits: Array, index: Array) -> Array:
    """Sub-bin peak offset: a parabola through 3 log-probabilities.

    ``d = (l[i-1] - l[i+1]) / (2 (l[i-1] - 2 l[i] + l[i+1]))``, the 1D
    Taylor step ``-l' / l''`` (DARK eq. 9 in 1D) at the argmax ``i``, on
    logits (the log-softmax differs by a constant). Exact for a Gaussian
    label; clamped to ``[-0.5, 0.5]`` (beyond, another bin would be the
    argmax); 0 at the first and last bin and on flat or non-finite
    neighbourhoods.

    Args:
        logits (np.ndarray | Tensor): Logits in shape (M, L).
        index (np.ndarray | Tensor): Integer argmax bins in shape (M, ).

    Returns:
        np.ndarray | Tensor: Float64 offsets in bins, shape (M, ).
    """
    xp, length = namespace(logits), logits.shape[-1]
    inside = (index > 0) & (index < length - 1)
    nbr = (index[:, None] + arange(3, index) - 1).clip(0, length - 1)
    rows = arange(logits.shape[0], logits)[:, None]
    lm, l0, lp = cast(logits, 'float64')[rows, nbr].T
    with np.errstate(divide='ignore', invalid='ignore'):  # -inf logits
        curvature = lm - 2 * l0 + lp
        offset = 0.5 * (lm - lp) / curvature
        ok = inside & (curvature < 0) & xp.isfinite(offset)
    return xp.where(ok, offset.clip(-0.5, 0.5), 0.0)


#: ``keypoint_score`` values: how x and y axis scores make a keypoint's
KEYPOINT_SCORES = ('min', 'max')
#: ``score_scale`` values: what an axis score is
SCORE_SCALES = ('probability', 'peak', 'logit')


def decode_simdr(simcc_x: Array,
                 simcc_y: Array,
                 split_ratio: float,
                 peaks: Tuple[float, float] = (1.0, 1.0),
                 refine: bool = False,
                 keypoint_score: str = 'min',
                 score_scale: str = 'probability') -> Tuple[Array, Array]:
    """SimDR eq. (5) ``x = argmax_i o_x(i) / k``, and SimDR* decoding.

    With ``refine`` the argmax moves by :func:`parabola_offset_1d`. The
    score of an axis is, by ``score_scale``:

    - ``'probability'``: its softmax peak;
    - ``'peak'``: its softmax peak divided by ``peaks`` (SimDR*: the
      target's peak, :func:`label_peak_probability`), clipped to [0, 1];
    - ``'logit'``: the raw value at the argmax (mmpose 1.3.2
      ``mmpose/codecs/utils/post_processing.py`` get_simcc_maximum
      l.90-99). A keypoint whose score is <= 0 decodes to bin ``(-1, -1)``,
      ``-1 / k`` input pixels on both axes (l.99, then
      ``mmpose/codecs/simcc_label.py`` l.191); ``'min'`` picks ``y`` where
      ``x > y`` and ``x`` otherwise (l.96-98: a NaN ``y`` keeps ``x``).

    A keypoint scores the smaller (``keypoint_score='min'``: it is as sure
    as its less sure axis) or the larger (``'max'``, the SimDR authors'
    SimCC ``lib/core/function.py`` l.351-352) of its x and y scores.
    Arrays in, arrays out; tensors in, tensors out.

    Args:
        simcc_x (np.ndarray | Tensor): Float x logits in shape (N, K, Wx).
        simcc_y (np.ndarray | Tensor): Float y logits in shape (N, K, Wy).
        split_ratio (float): The splitting factor ``k``.
        peaks (tuple): Peak probabilities ``(p_x, p_y)`` that score 1 with
            ``score_scale='peak'``. Defaults to ``(1.0, 1.0)``.
        refine (bool): Add the parabola step. Defaults to ``False``.
        keypoint_score (str): ``'min'`` or ``'max'``. Defaults to
            ``'min'``.
        score_scale (str): ``'probability'``, ``'peak'`` or ``'logit'``.
            Defaults to ``'probability'``.

    Returns:
        tuple:
        - keypoints (np.ndarray | Tensor): Float32 input pixels, (N, K, 2).
        - scores (np.ndarray | Tensor): Float32 scores in shape (N, K).
    """
    if keypoint_score not in KEYPOINT_SCORES:
        raise ValueError(f'decode_simdr got keypoint_score='
                         f'{keypoint_score!r}: expected one of '
                         f'{KEYPOINT_SCORES}')
    if score_scale not in SCORE_SCALES:
        raise ValueError(f'decode_simdr got score_scale={score_scale!r}: '
                         f'expected one of {SCORE_SCALES}')
    xp = namespace(simcc_x)
    coords, scores = [], []
    for simcc, peak in zip((simcc_x, simcc_y), peaks):
        if score_scale == 'logit':
            index, score = simcc.argmax(-1), cast(xp.amax(simcc, -1),
                                                  'float32')
        else:
            index, score = softmax_argmax(simcc)
            if score_scale == 'peak' and peak != 1:
                # score is in (0, 1] (or NaN) already: no rescale for 1
                score = (score / peak).clip(0.0, 1.0)
        coord = cast(index, 'float64')
        if refine:
            flat = simcc.reshape(-1, simcc.shape[-1])
            coord = coord + parabola_offset_1d(flat, index.reshape(
                -1)).reshape(index.shape)
        coords.append(coord / split_ratio)
        scores.append(score)
    keypoints = cast(xp.stack(coords, -1), 'float32')
    if score_scale != 'logit':
        pick = xp.minimum if keypoint_score == 'min' else xp.maximum
        return keypoints, pick(*scores)
    sx, sy = scores
    score = xp.where(sx > sy, sy, sx) if keypoint_score == 'min' \
        else xp.where(sx < sy, sy, sx)
    keypoints = xp.where((score <= 0)[..., None],
                         xp.zeros_like(keypoints) - 1.0 / split_ratio,
                         keypoints)
    return keypoints, score
