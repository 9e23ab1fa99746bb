# Copyright (c) simdr_ext contributors. All rights reserved.
from typing import Any

import numpy as np
import torch
from torch import Tensor

from mmpose.evaluation.functional import keypoint_pck_accuracy
from mmpose.utils.tensor_utils import to_numpy


def decoded_pck_accuracy(decoder: Any,
                         pred: Any,
                         target: Any,
                         weights: Tensor,
                         thr: float = 0.05) -> Tensor:
    """Training PCK of a head, decoded by the head's own decoder.

    Predictions and targets both go through ``decoder.decode_torch``, so
    the accuracy measures the keypoints the model would output (sub-bin
    refinement and DARK included), in input pixels. The reference is the
    decoded target: the input-space keypoints that ``GenerateTarget``
    encoded are not packed into the data sample (``gt_instances`` holds
    image-space keypoints, and a random rotation cannot be undone from the
    metainfo), and the target decodes back to them within the codec's
    rounding (``1 / (2k)`` px for SimDR), far below the threshold.
    Distances are divided by ``[h, w]`` of the input, as mmpose's
    ``simcc_pck_accuracy`` / ``pose_pck_accuracy`` do, and counted below
    ``thr``; the mean over keypoints with weight > 0 follows mmpose's
    ``keypoint_pck_accuracy``.

    Args:
        decoder (BaseKeypointCodec): A codec with ``decode_torch`` and
            ``input_size`` ``(w, h)``.
        pred (Tensor | tuple): Head outputs as ``decode_torch`` takes them:
            (B, K, Wx) and (B, K, Wy) logits, or heatmaps (B, K, H, W).
        target (Tensor | tuple): The codec's targets, same shapes.
        weights (Tensor): Keypoint weights in shape (B, K).
        thr (float): PCK threshold. Defaults to 0.05.

    Returns:
        Tensor: The scalar accuracy in [0, 1] on ``weights``' device.
    """
    with torch.no_grad():
        decoded = []
        for out in (pred, target):
            args = out if isinstance(out, tuple) else (out, )
            decoded.append(
                to_numpy(decoder.decode_torch(*(a.detach() for a in args))[0]))
    w, h = decoder.input_size
    norm = np.tile(np.array([[h, w]], np.float32), (len(weights), 1))
    _, acc, _ = keypoint_pck_accuracy(decoded[0], decoded[1],
                                      to_numpy(weights) > 0, thr, norm)
    return torch.tensor(acc, dtype=torch.float32, device=weights.device)
