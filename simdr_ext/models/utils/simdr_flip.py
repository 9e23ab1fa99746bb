# Copyright (c) simdr_ext contributors. All rights reserved.
from typing import Sequence, Tuple

import torch
from torch import Tensor


def shift_bins(vectors: Tensor, shift: float) -> Tensor:
    """Resample 1D vectors at ``i + shift`` (linear, edge values beyond).

    Args:
        vectors (Tensor): Vectors in shape (..., L).
        shift (float): Shift in bins; ``out[i] = vectors[i + shift]``.

    Returns:
        Tensor: Shifted vectors in shape (..., L).
    """
    length = vectors.shape[-1]
    pos = (torch.arange(length, device=vectors.device, dtype=torch.float32) +
           shift).clamp(0, length - 1)
    lo = pos.floor().long()
    hi = (lo + 1).clamp(max=length - 1)
    frac = (pos - lo.float()).to(vectors.dtype)
    return vectors[..., lo] * (1 - frac) + vectors[..., hi] * frac


def flip_simdr_vectors(simcc_x: Tensor, simcc_y: Tensor,
                       flip_indices: Sequence[int], input_width: int,
                       split_ratio: float) -> Tuple[Tensor, Tensor]:
    """Map SimDR outputs of a horizontally flipped crop back to the crop.

    Flipping a crop of width ``w`` moves pixel centre ``x`` to ``w - 1 - x``
    (mmpose's convention), i.e. bin ``x k`` to ``(w - 1 - x) k``. Reversing a
    vector of ``L`` bins maps bin ``j`` to ``L - 1 - j``, so the reversed
    vector peaks ``s = (L - 1) - (w - 1) k`` bins past the true bin (one bin
    for ``k = 2`` and ``L = 2w``, the authors' ``SHIFT_HEATMAP``); it is
    resampled at ``i + s``, linearly when ``s`` is fractional (``k = 1.5``).
    Left/right keypoints are swapped with ``flip_indices``; y is only
    swapped.

    Args:
        simcc_x (Tensor): x vectors of the flipped crop, shape (B, K, Wx).
        simcc_y (Tensor): y vectors of the flipped crop, shape (B, K, Wy).
        flip_indices (Sequence[int]): Index of each keypoint's mirror.
        input_width (int): Crop width ``w`` in pixels.
        split_ratio (float): The splitting factor ``k``.

    Returns:
        tuple: x vectors (B, K, Wx) and y vectors (B, K, Wy) aligned with
        the unflipped crop.
    """
    if len(flip_indices) != simcc_x.shape[1]:
        raise ValueError(f'flip_indices has {len(flip_indices)} entries but '
                         f'the vectors have {simcc_x.shape[1]} keypoints')
    flip_indices = list(flip_indices)
    x = simcc_x[:, flip_indices].flip(-1)
    shift = (x.shape[-1] - 1) - (input_width - 1) * split_ratio
    if shift != 0:
        x = shift_bins(x, shift)
    return x, simcc_y[:, flip_indices]
