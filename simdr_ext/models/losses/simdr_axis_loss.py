# Copyright (c) simdr_ext contributors. All rights reserved.
from typing import Optional, Tuple

import torch
from torch import Tensor, nn


def weighted_keypoint_mean(per_keypoint: Tensor,
                           weights: Optional[Tensor]) -> Tensor:
    """``sum(w l) / max(sum(w), 1)`` of a loss per keypoint (N, K) and
    weights (N, K) (``None``: 1), a scalar: the mean over keypoints with
    w > 0; an empty or all-zero-weight batch gives exactly 0, still attached
    to the graph (``backward`` works), never ``0 / 0``."""
    if weights is None:
        weights = torch.ones_like(per_keypoint)
    weights = weights.to(per_keypoint.dtype)
    return (per_keypoint * weights).sum() / weights.sum().clamp(min=1.0)


class SimDRAxisLoss(nn.Module):
    """Base of the SimDR losses: :meth:`axis_loss` maps one axis' logits and
    targets (N, K, L) to a loss per keypoint (N, K); x and y are added and
    reduced by :func:`weighted_keypoint_mean`. N instances, K keypoints,
    Wx / Wy bins.

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

    def axis_loss(self, pred: Tensor, target: Tensor) -> Tensor:
        raise NotImplementedError

    def forward(self,
                pred_simcc: Tuple[Tensor, Tensor],
                gt_simcc: Tuple[Tensor, Tensor],
                target_weight: Optional[Tensor] = None) -> Tensor:
        """Logits (N, K, Wx), (N, K, Wy), targets of the same shapes and
        weights (N, K) (``None`` is 1) -> the scalar loss."""
        for p, t in zip(pred_simcc, gt_simcc):
            assert p.shape == t.shape, (
                f'pred {tuple(p.shape)} and target {tuple(t.shape)} must '
                'have the same shape')
        per_keypoint = sum(
            self.axis_loss(p, t) for p, t in zip(pred_simcc, gt_simcc))
        weights = target_weight if self.use_target_weight else None
        return self.reduce(per_keypoint, weights) * self.loss_weight

    def reduce(self, per_keypoint: Tensor,
               weights: Optional[Tensor]) -> Tensor:
        """The scalar of a loss per keypoint (N, K) and weights (N, K) or
        ``None``: :func:`weighted_keypoint_mean`."""
        return weighted_keypoint_mean(per_keypoint, weights)
