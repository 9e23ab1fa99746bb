# Copyright (c) simdr_ext contributors. All rights reserved.
"""Pure numpy/torch functions for Gaussian labels and heatmaps.

Coordinate convention: a Gaussian centred at ``c`` (bins or heatmap pixels)
puts ``exp(-(i - c)^2 / (2 sigma^2))`` at integer position ``i``, so the
value at position ``i`` is the value at the centre of bin / pixel ``i``.
Keypoints with weight 0 get an all-zero label and no heatmap contribution.
"""
import math
from typing import Sequence, Tuple

import numpy as np
import torch
from torch import Tensor

from .simdr import softmax_argmax, softmax_argmax_torch


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
        np.ndarray: Float32 labels in shape (N, K, L), zero where the weight
        is 0.
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

    Each keypoint gets ``exp(-((x - u)^2 + (y - v)^2) / (2 sigma^2))`` over
    the whole map (peak 1, as mmpose's and the DARK authors' MSE targets;
    the 2D Gaussian is the outer product of two 1D ones). Instances are
    merged by a per-keypoint maximum, like mmpose's multi-instance
    generators, so N = 1 gives exactly that instance's heatmaps.

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
    num_keypoints = gx.shape[1]
    if len(gx) == 1:  # the top-down case: one outer product, no copy
        return gy[0, :, :, None] * gx[0, :, None, :]
    heatmaps = np.zeros((num_keypoints, height, width), np.float32)
    for x_labels, y_labels in zip(gx, gy):  # over instances, not keypoints
        np.maximum(heatmaps, y_labels[:, :, None] * x_labels[:, None, :],
                   out=heatmaps)
    return heatmaps


def kernel_sigma(kernel_size: int) -> float:
    """OpenCV's sigma for a Gaussian kernel of ``kernel_size`` taps.

    ``sigma = 0.3 * ((ks - 1) * 0.5 - 1) + 0.8``: ks = 11 gives 2.0 and
    ks = 17 gives 2.9, the kernels mmpose and DARK use for heatmap sigma 2
    and 3.

    Args:
        kernel_size (int): Odd kernel size.

    Returns:
        float: The standard deviation in pixels.
    """
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


def label_peak_probability(sigma: float) -> float:
    """Peak of a bin-centred, untruncated SimDR* label normalised to sum 1.

    ``1 / sum_j exp(-j^2 / (2 sigma^2))``, about ``1 / (sigma sqrt(2 pi))``:
    0.066 for sigma = 6. It is the softmax peak of a perfect prediction,
    the unit that turns a softmax peak into a score in [0, 1].

    Args:
        sigma (float): Standard deviation in bins, > 0.

    Returns:
        float: The peak probability in (0, 1].
    """
    # the terms beyond |j| = 10 sigma + 1 are below exp(-50)
    j = np.arange(-math.ceil(10 * sigma) - 1, math.ceil(10 * sigma) + 2)
    return float(1.0 / np.exp(-j**2 / (2 * sigma**2)).sum())


def parabola_offset_1d(logits: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Sub-bin offset of the peak: a parabola through 3 log-probabilities.

    ``d = (l[i-1] - l[i+1]) / (2 (l[i-1] - 2 l[i] + l[i+1]))``, the 1D
    Taylor step ``-l' / l''`` (DARK eq. 9 in 1D) at the argmax ``i``. The
    log-softmax differs from the logits by a constant, so logit differences
    are used. It is exact for a Gaussian label (its log is a parabola);
    it is clamped to ``[-0.5, 0.5]`` (beyond that another bin would be the
    argmax) and is 0 at the first and last bin, on flat or non-finite
    neighbourhoods.

    Args:
        logits (np.ndarray): Logits in shape (M, L).
        index (np.ndarray): Integer argmax bins in shape (M, ).

    Returns:
        np.ndarray: Float64 offsets in bins, shape (M, ).
    """
    length = logits.shape[-1]
    inside = (index > 0) & (index < length - 1)
    nbr = np.clip(index[:, None] + np.arange(-1, 2), 0, length - 1)
    lm, l0, lp = np.take_along_axis(logits.astype(np.float64), nbr, 1).T
    with np.errstate(divide='ignore', invalid='ignore'):  # -inf logits
        curvature = lm - 2 * l0 + lp
        offset = 0.5 * (lm - lp) / curvature
        ok = inside & (curvature < 0) & np.isfinite(offset)
    return np.where(ok, np.clip(offset, -0.5, 0.5), 0.0)


def parabola_offset_1d_torch(logits: Tensor, index: Tensor) -> Tensor:
    """Torch twin of :func:`parabola_offset_1d`.

    Args:
        logits (Tensor): Logits in shape (M, L).
        index (Tensor): Integer argmax bins in shape (M, ).

    Returns:
        Tensor: Float64 offsets in bins, shape (M, ).
    """
    length = logits.shape[-1]
    inside = (index > 0) & (index < length - 1)
    steps = torch.arange(-1, 2, device=index.device)
    nbr = (index[:, None] + steps).clamp(0, length - 1)
    lm, l0, lp = logits.double().gather(1, nbr).T
    curvature = lm - 2 * l0 + lp
    offset = 0.5 * (lm - lp) / curvature
    ok = inside & (curvature < 0) & torch.isfinite(offset)
    return torch.where(ok, offset.clamp(-0.5, 0.5), torch.zeros_like(offset))


def decode_gaussian_simdr(simcc_x: np.ndarray, simcc_y: np.ndarray,
                          split_ratio: float, peaks: Tuple[float, float],
                          refine: bool) -> Tuple[np.ndarray, np.ndarray]:
    """SimDR* decoding: argmax (+ parabola step), score = softmax / peak.

    Args:
        simcc_x (np.ndarray): x logits in shape (N, K, Wx).
        simcc_y (np.ndarray): y logits in shape (N, K, Wy).
        split_ratio (float): The splitting factor ``k``.
        peaks (tuple): Target peak probabilities ``(p_x, p_y)`` (see
            :func:`label_peak_probability`).
        refine (bool): Add :func:`parabola_offset_1d`.

    Returns:
        tuple:
        - keypoints (np.ndarray): Float32 input pixels in shape (N, K, 2).
        - scores (np.ndarray): Float32 scores in [0, 1], the smaller of the
          x and y ``softmax peak / target peak``, shape (N, K).
    """
    coords, scores = [], []
    for simcc, peak in zip((simcc_x, simcc_y), peaks):
        index, prob = softmax_argmax(simcc)
        coord = index.astype(np.float64)
        if refine:
            flat = simcc.reshape(-1, simcc.shape[-1])
            offset = parabola_offset_1d(flat, index.reshape(-1))
            coord += offset.reshape(index.shape)
        coords.append(coord / split_ratio)
        scores.append(np.clip(prob / peak, 0.0, 1.0))
    keypoints = np.stack(coords, -1).astype(np.float32)
    return keypoints, np.minimum(*scores).astype(np.float32)


def decode_gaussian_simdr_torch(simcc_x: Tensor, simcc_y: Tensor,
                                split_ratio: float, peaks: Tuple[float, float],
                                refine: bool) -> Tuple[Tensor, Tensor]:
    """Torch twin of :func:`decode_gaussian_simdr` (same results).

    Args:
        simcc_x (Tensor): Float x logits in shape (N, K, Wx).
        simcc_y (Tensor): Float y logits in shape (N, K, Wy).
        split_ratio (float): The splitting factor ``k``.
        peaks (tuple): Target peak probabilities ``(p_x, p_y)``.
        refine (bool): Add :func:`parabola_offset_1d_torch`.

    Returns:
        tuple: float32 keypoints (N, K, 2) and scores (N, K).
    """
    coords, scores = [], []
    for simcc, peak in zip((simcc_x, simcc_y), peaks):
        # argmax of the logits (not of rounded probabilities), as numpy
        index, prob = softmax_argmax_torch(simcc)
        coord = index.double()
        if refine:
            flat = simcc.reshape(-1, simcc.shape[-1])
            coord = coord + parabola_offset_1d_torch(
                flat, index.reshape(-1)).reshape(index.shape)
        coords.append(coord / split_ratio)
        scores.append((prob / peak).clamp(0.0, 1.0))
    keypoints = torch.stack(coords, -1).float()
    return keypoints, torch.minimum(*scores)
