# Copyright (c) simdr_ext contributors. All rights reserved.
import torch.nn.functional as F
from torch import Tensor

from mmpose.registry import MODELS
from .simdr_axis_loss import SimDRAxisLoss


@MODELS.register_module()
class LabelSmoothCELoss(SimDRAxisLoss):
    """Cross-entropy between SimDR logits and label-smoothed targets.

    SimDR trains its 1D classifiers with cross-entropy and label smoothing
    (SimDR Sec. 3.2, footnote 4). The smoothing lives in the target: the
    codec (:class:`SimDRLabel` with ``label_smoothing=eps``) writes ``1 - eps``
    at the target bin and ``eps / (L - 1)`` elsewhere, so the same target
    feeds this loss and the accuracy metric. Per keypoint and axis

    .. math:: CE = -\\sum_i t_i \\log \\mathrm{softmax}(o)_i,

    the x and y terms are added, and the result is averaged over the
    keypoints with weight > 0 (see :class:`SimDRAxisLoss`). Unlike
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

    def axis_loss(self, pred: Tensor, target: Tensor) -> Tensor:
        """Cross-entropy of one axis, shape (N, K, L) -> (N, K)."""
        self.check_shapes(pred, target)
        return -(target * F.log_softmax(pred.float(), dim=-1)).sum(-1)
