# Copyright (c) simdr_ext contributors. All rights reserved.
import torch.nn.functional as F
from torch import Tensor

from mmpose.registry import MODELS
from .simdr_axis_loss import SimDRAxisLoss


@MODELS.register_module()
class SoftLabelCELoss(SimDRAxisLoss):
    r"""Cross-entropy between SimDR logits and the codec's soft targets.

    SimDR trains its 1D classifiers with cross-entropy and label smoothing
    (SimDR Sec. 3.2, footnote 4). This loss does no smoothing itself: the
    codec (:class:`SimDRLabel` with ``label_smoothing=eps``) writes
    ``1 - eps`` at the target bin and ``eps / (L - 1)`` elsewhere, and
    per keypoint and axis

    .. math:: CE = -\sum_i t_i \log \mathrm{softmax}(o)_i;

    x and y are added and averaged over the keypoints with weight > 0
    (:class:`SimDRAxisLoss`). Unlike KL it keeps the target entropy, a
    constant that changes no gradient.

    Args:
        use_target_weight (bool): Weigh keypoints by ``target_weight``.
            Defaults to ``True``.
        loss_weight (float): Factor on the loss. Defaults to 1.0.
    """

    def axis_loss(self, pred: Tensor, target: Tensor) -> Tensor:
        """Cross-entropy of one axis, shape (N, K, L) -> (N, K)."""
        return -(target * F.log_softmax(pred.float(), dim=-1)).sum(-1)
