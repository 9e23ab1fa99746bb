# Copyright (c) simdr_ext contributors. All rights reserved.
"""Pure numpy/torch functions behind the SimDR codecs.

Coordinate convention (shared by every SimDR function here): a keypoint at
``x`` input pixels means the centre of pixel ``x`` (mmpose's convention), and
bin ``i`` of a vector of ``round(w * k)`` bins covers ``x * k`` in
``[i - 1/2, i + 1/2)``, so bin ``i`` decodes to ``i / k`` pixels.
"""
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
    return int(np.floor(length * split_ratio + 0.5))


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
    sizes = np.array([num_bins(s, split_ratio) for s in input_size])
    with np.errstate(invalid='ignore'):
        scaled = np.floor(keypoints[..., :2] * split_ratio + 0.5)
        finite = np.isfinite(scaled).all(-1)
        scaled = np.where(finite[..., None], scaled, -1.0)
        inside = ((scaled >= 0) & (scaled < sizes)).all(-1)
    valid = finite & inside & (keypoints_visible >= 0.5)
    bins = np.where(valid[..., None], scaled, 0).astype(np.int64)
    return bins, valid.astype(np.float32)


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
    labels = np.full(bins.shape + (length, ), off, dtype=np.float32)
    np.put_along_axis(labels, bins[..., None], 1.0 - label_smoothing, -1)
    labels *= (weights > 0)[..., None]
    return labels


def softmax_argmax(vectors: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Argmax bin and its softmax probability along the last axis.

    Args:
        vectors (np.ndarray): Logits in shape (..., L).

    Returns:
        tuple:
        - index (np.ndarray): Argmax bins in shape (...).
        - prob (np.ndarray): ``softmax(vectors)[index]`` in shape (...),
          in (0, 1].
    """
    index = np.argmax(vectors, axis=-1)
    peak = np.take_along_axis(vectors, index[..., None], -1)
    # softmax at the argmax = 1 / sum(exp(v - v_max)): no overflow
    prob = 1.0 / np.exp(vectors - peak).sum(-1)
    return index, prob.astype(np.float32)


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
        simcc_x (Tensor): x logits in shape (N, K, Wx).
        simcc_y (Tensor): y logits in shape (N, K, Wy).
        split_ratio (float): The splitting factor ``k``.

    Returns:
        tuple:
        - keypoints (Tensor): Input pixels in shape (N, K, 2).
        - scores (Tensor): Scores in shape (N, K).
    """
    px, ix = simcc_x.float().softmax(-1).max(-1)
    py, iy = simcc_y.float().softmax(-1).max(-1)
    keypoints = torch.stack([ix, iy], -1).float() / split_ratio
    return keypoints, torch.minimum(px, py)
