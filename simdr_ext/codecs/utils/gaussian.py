# Copyright (c) simdr_ext contributors. All rights reserved.
"""Gaussian targets: SimDR* 1D labels, DARK 2D heatmaps, the label peak.

Coordinate convention: a Gaussian centred at ``c`` (bins or heatmap pixels)
puts ``exp(-(i - c)^2 / (2 sigma^2))`` at integer position ``i``, the
centre of bin / pixel ``i``. Weight-0 keypoints add nothing.
"""
import math
from typing import Sequence

import numpy as np


def gaussian_labels_1d(centres: np.ndarray,
                       weights: np.ndarray,
                       length: int,
                       sigma: float,
                       normalize: bool = True) -> np.ndarray:
    """SimDR* eq. (6)/(7): a 1D Gaussian over ``length`` bins per keypoint.

    ``x_i = exp(-(i - c)^2 / (2 sigma^2))``, divided by ``sigma * sqrt(2 pi)``
    when ``normalize`` (then a label well inside the axis sums to about 1:
    by Poisson summation the error is below ``2 exp(-2 pi^2 sigma^2)``).

    Args:
        centres (np.ndarray): Gaussian centres in bins, shape (N, K); the
            values of weight-0 keypoints are ignored (may be NaN or inf).
        weights (np.ndarray): Keypoint weights in shape (N, K).
        length (int): Number of bins ``L``.
        sigma (float): Standard deviation in bins, > 0.
        normalize (bool): Divide by ``sigma * sqrt(2 pi)``. Defaults to
            ``True``.

    Returns:
        np.ndarray: Float32 labels in shape (N, K, L), 0 for weight 0.
    """
    valid = weights > 0
    centres = np.where(valid, centres, 0.0).astype(np.float32)
    # float32 throughout, in place: the labels are float32 anyway, and a
    # centre below 2**13 bins is exact to 1e-3 bins, far below sigma
    labels = np.arange(length, dtype=np.float32) - centres[..., None]
    np.square(labels, out=labels)
    labels *= np.float32(-0.5 / sigma**2)
    np.exp(labels, out=labels)
    scale = 1 / (sigma * math.sqrt(2 * math.pi)) if normalize else 1.0
    labels *= (valid * np.float32(scale))[..., None]
    return labels


def gaussian_heatmaps(centres: np.ndarray, weights: np.ndarray,
                      heatmap_size: Sequence[int], sigma: float) -> np.ndarray:
    """DARK eq. (14): 2D Gaussian heatmaps of N instances, max over N.

    ``exp(-((x - u)^2 + (y - v)^2) / (2 sigma^2))`` over the whole map, the
    outer product of two 1D Gaussians (peak 1, as mmpose's and the DARK
    authors' MSE targets); instances merge by a per-keypoint maximum.

    Args:
        centres (np.ndarray): Centres ``(u, v)`` in heatmap pixels, shape
            (N, K, 2); ignored where the weight is 0.
        weights (np.ndarray): Keypoint weights in shape (N, K).
        heatmap_size (tuple): Heatmap size ``(W, H)``.
        sigma (float): Standard deviation in heatmap pixels, > 0.

    Returns:
        np.ndarray: Float32 heatmaps in shape (K, H, W); zeros for N = 0.
    """
    width, height = heatmap_size
    gx = gaussian_labels_1d(centres[..., 0], weights, width, sigma, False)
    gy = gaussian_labels_1d(centres[..., 1], weights, height, sigma, False)
    if len(gx) == 1:  # the top-down case: one outer product, no copy
        return gy[0, :, :, None] * gx[0, :, None, :]
    heatmaps = np.zeros((gx.shape[1], height, width), np.float32)
    for x_labels, y_labels in zip(gx, gy):  # over instances, not keypoints
        np.maximum(heatmaps, y_labels[:, :, None] * x_labels[:, None, :],
                   out=heatmaps)
    return heatmaps


def label_peak_probability(sigma: float) -> float:
    """Peak of a bin-centred, untruncated SimDR* label normalised to sum 1:
    ``1 / sum_j exp(-j^2 / (2 sigma^2))`` in (0, 1], about ``1 / (sigma
    sqrt(2 pi))`` (0.066 for sigma = 6 bins), the softmax peak of a perfect
    prediction: the unit that turns a softmax peak into a score."""
    # the terms beyond |j| = 10 sigma + 1 are below exp(-50)
    j = np.arange(-math.ceil(10 * sigma) - 1, math.ceil(10 * sigma) + 2)
    return float(1.0 / np.exp(-j**2 / (2 * sigma**2)).sum())
