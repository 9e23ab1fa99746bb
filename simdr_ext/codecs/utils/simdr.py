# Copyright (c) simdr_ext contributors. All rights reserved.
"""Pure numpy/torch functions behind the SimDR codecs.

Coordinate convention (shared by every SimDR function here): a keypoint at
``x`` input pixels means the centre of pixel ``x`` (mmpose's convention), and
bin ``i`` of a vector of ``round(w * k)`` bins covers ``x * k`` in
``[i - 1/2, i + 1/2)``, so bin ``i`` decodes to ``i / k`` pixels.
"""
import functools
import math
from typing import Tuple

import numpy as np
import torch
from torch import Tensor


def num_bins(length: int, split_ratio: float) -> int:
    """Number of bins of a SimDR vector for an axis of ``length`` pixels.

    Args:
        length (int): Axis length in input pixels (``w`` or ``h``).
        split_ratio (float): The splitting factor ``k >= 1``.

    Returns:
        int: ``round(length * k)`` (the ``W * k`` of SimDR eq. (3)).
    """
    return math.floor(length * split_ratio + 0.5)


def keypoint_bins(keypoints: np.ndarray, keypoints_visible: np.ndarray,
                  input_size: Tuple[int, int],
                  split_ratio: float) -> Tuple[np.ndarray, np.ndarray]:
    """SimDR eq. (2): the target bin of every keypoint, and its weight.

    ``x' = round(x * k)`` with halves rounded up, so bin ``i`` covers
    ``x * k`` in ``[i - 1/2, i + 1/2)``. A keypoint gets weight 0 when it is
    invisible (``keypoints_visible < 0.5``), not finite, or its bin falls
    outside ``[0, round(w * k) - 1]`` (likewise for y); its bin is then set
    to 0 so that it can still index arrays safely.

    Args:
        keypoints (np.ndarray): Keypoints in input pixels, shape (N, K, 2).
        keypoints_visible (np.ndarray): Visibility in shape (N, K).
        input_size (tuple): Input size ``(w, h)``.
        split_ratio (float): The splitting factor ``k``.

    Returns:
        tuple:
        - bins (np.ndarray): Integer bins ``(x', y')`` in shape (N, K, 2).
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
    """SimDR eq. (3)/(4) with label smoothing, for many keypoints at once.

    The target bin gets ``1 - eps``, every other bin ``eps / (L - 1)``, so
    each label sums to 1. Keypoints with weight 0 get an all-zero label.

    Args:
        bins (np.ndarray): Integer target bins in shape (N, K).
        weights (np.ndarray): Keypoint weights in shape (N, K).
        length (int): Number of bins ``L``.
        label_smoothing (float): ``eps`` in ``[0, 1)``.

    Returns:
        np.ndarray: Float32 labels in shape (N, K, L).
    """
    off = label_smoothing / (length - 1) if length > 1 else 0.0
    valid = weights > 0
    labels = np.zeros(bins.shape + (length, ), dtype=np.float32)
    flat = labels.reshape(-1, length)  # a view
    rows = valid.ravel()
    if off:
        flat[rows] = off
    # plain indexing: put_along_axis costs ~10 us per call on ~17 rows
    flat[rows, bins.ravel()[rows]] = 1.0 - label_smoothing
    return labels


def softmax_argmax(vectors: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Argmax bin and its softmax probability along the last axis.

    Non-finite logits follow the limits: ``+inf`` bins share the whole mass
    (one ``+inf`` bin has probability 1), ``-inf`` bins get 0, an all
    ``-inf`` vector is uniform (probability ``1 / L``); a NaN logit is the
    argmax (numpy's and torch's rule) with a NaN probability.

    Args:
        vectors (np.ndarray): Float logits in shape (..., L).

    Returns:
        tuple:
        - index (np.ndarray): Argmax bins in shape (...).
        - prob (np.ndarray): ``softmax(vectors)[index]`` in shape (...),
          in (0, 1], float32.
    """
    index = np.argmax(vectors, axis=-1)
    # the value at the argmax (NaN where a NaN is the argmax, as np.max);
    # max is cheaper than take_along_axis on small arrays
    peak = vectors.max(-1, keepdims=True)
    if np.isfinite(peak).all():
        # softmax at the argmax = 1 / sum(exp(v - v_max)): no overflow
        shifted = vectors - peak
    else:
        # inf - inf: the +inf bins are the peak (0); NaN stays NaN
        with np.errstate(invalid='ignore'):
            shifted = np.where(vectors == peak, 0.0, vectors - peak)
    prob = 1.0 / np.exp(shifted).sum(-1)
    return index, prob.astype(np.float32)


def softmax_argmax_torch(vectors: Tensor) -> Tuple[Tensor, Tensor]:
    """Torch twin of :func:`softmax_argmax` (same index, same rules).

    Args:
        vectors (Tensor): Float logits in shape (..., L).

    Returns:
        tuple: int64 argmax bins (...) and float32 probabilities (...).
    """
    index = vectors.argmax(-1)
    peak = vectors.gather(-1, index[..., None])
    shifted = torch.where(vectors == peak, torch.zeros_like(vectors),
                          vectors - peak)
    prob = 1.0 / shifted.exp().sum(-1)
    return index, prob.float()


def decode_simdr(simcc_x: np.ndarray, simcc_y: np.ndarray,
                 split_ratio: float) -> Tuple[np.ndarray, np.ndarray]:
    """SimDR eq. (5): ``x = argmax_i o_x(i) / k`` and likewise for y.

    The score of a keypoint is the smaller of the two softmax probabilities
    at the argmax bins (a keypoint is as sure as its less sure axis), so it
    lies in (0, 1].

    Args:
        simcc_x (np.ndarray): x logits in shape (N, K, Wx).
        simcc_y (np.ndarray): y logits in shape (N, K, Wy).
        split_ratio (float): The splitting factor ``k``.

    Returns:
        tuple:
        - keypoints (np.ndarray): Float32 input pixels in shape (N, K, 2).
        - scores (np.ndarray): Float32 scores in shape (N, K).
    """
    ix, px = softmax_argmax(simcc_x)
    iy, py = softmax_argmax(simcc_y)
    keypoints = np.stack([ix, iy], -1).astype(np.float32) / split_ratio
    return keypoints, np.minimum(px, py)


def decode_simdr_torch(simcc_x: Tensor, simcc_y: Tensor,
                       split_ratio: float) -> Tuple[Tensor, Tensor]:
    """Torch twin of :func:`decode_simdr` (same results, exportable).

    Args:
        simcc_x (Tensor): Float x logits in shape (N, K, Wx).
        simcc_y (Tensor): Float y logits in shape (N, K, Wy).
        split_ratio (float): The splitting factor ``k``.

    Returns:
        tuple:
        - keypoints (Tensor): Input pixels in shape (N, K, 2).
        - scores (Tensor): Scores in shape (N, K).
    """
    ix, px = softmax_argmax_torch(simcc_x)
    iy, py = softmax_argmax_torch(simcc_y)
    keypoints = torch.stack([ix, iy], -1).float() / split_ratio
    return keypoints, torch.minimum(px, py)
