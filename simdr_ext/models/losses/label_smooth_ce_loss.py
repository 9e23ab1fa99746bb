# Copyright (c) simdr_ext contributors. All rights reserved.
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmpose.registry import MODELS


def weighted_keypoint_mean(per_keypoint: Tensor,
                           weights: Optional[Tensor]) -> Tensor:
    """Mean of a per-keypoint loss over the keypoints with weight > 0.

    ``sum(w * l) / max(sum(w), 1)``: a batch whose weights are all 0 gives
    exactly 0 (still attached to the graph, so ``backward`` works), never
    ``0 / 0``.

    Args:
        per_keypoint (Tensor): Loss per keypoint in shape (N, K).
        weights (Tensor, optional): Keypoint weights in shape (N, K).
            ``None`` weighs every keypoint 1.

    Returns:
        Tensor: A scalar.
    """
    if weights is None:
        return per_keypoint.mean()
    weights = weights.to(per_keypoint.dtype)
    return (per_keypoint * weights).sum() / weights.sum().clamp(min=1.0)


@MODELS.register_module()
class LabelSmoothCELoss(nn.Module):
    """Cross-entropy between SimDR logits and label-smoothed targets.

    SimDR trains its 1D classifiers with cross-entropy and label smoothing
    (SimDR Sec. 3.2, footnote 4). The smoothing lives in the target: the
    codec (:class:`SimDRLabel` with ``label_smoothing=eps``) writes ``1 - eps``
    at the target bin and ``eps / (L - 1)`` elsewhere, so the same target
    feeds this loss and the accuracy metric. Per keypoint and axis

    .. math:: CE = -\\sum_i t_i \\log \\mathrm{softmax}(o)_i,

    the x and y terms are added, and the result is averaged over the
    keypoints with weight > 0 (see :func:`weighted_keypoint_mean`). Unlike
    KL divergence it keeps the target entropy as a constant offset, which
    changes no gradient.

    Note:
        - N: number of instances, K: number of keypoints
        - Wx, Wy: number of x / y bins

    Args:
        use_target_weight (bool): Weigh keypoints by ``target_weight``.
            Defaults to ``True``.
        loss_weight (float): Factor on the loss. Defaults to 1.0.
    """

    def __init__(self,
                 use_target_weight: bool = True,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.use_target_weight = use_target_weight
        self.loss_weight = loss_weight

    @staticmethod
    def axis_loss(pred: Tensor, target: Tensor) -> Tensor:
        """Cross-entropy of one axis, shape (N, K, L) -> (N, K)."""
        assert pred.shape == target.shape, (
            f'pred {tuple(pred.shape)} and target {tuple(target.shape)} '
            'must have the same shape')
        return -(target * F.log_softmax(pred.float(), dim=-1)).sum(-1)

    def forward(self,
                pred_simcc: tuple,
                gt_simcc: tuple,
                target_weight: Optional[Tensor] = None) -> Tensor:
        """Compute the loss.

        Args:
            pred_simcc (tuple[Tensor, Tensor]): x and y logits in shapes
                (N, K, Wx) and (N, K, Wy).
            gt_simcc (tuple[Tensor, Tensor]): x and y targets, same shapes.
            target_weight (Tensor, optional): Keypoint weights in shape
                (N, K). Defaults to ``None``.

        Returns:
            Tensor: The scalar loss.
        """
        per_keypoint = sum(
            self.axis_loss(p, t) for p, t in zip(pred_simcc, gt_simcc))
        weights = target_weight if self.use_target_weight else None
        return weighted_keypoint_mean(per_keypoint, weights) * self.loss_weight
