# Copyright (c) simdr_ext contributors. All rights reserved.
import torch.nn.functional as F
from torch import Tensor

from mmpose.registry import MODELS
from .simdr_axis_loss import SimDRAxisLoss


@MODELS.register_module()
class SoftLabelCELoss(SimDRAxisLoss):
    r"""Cross-entropy between SimDR logits and the codec's soft targets.

    SimDR trains with cross-entropy and label smoothing (Sec. 3.2, footnote
    4); the smoothing is the codec's (:class:`SimDRLabel` writes ``1 - eps``
    at the target bin, ``eps / (L - 1)`` elsewhere), not this loss'. Per
    keypoint and axis :math:`CE = -\sum_i t_i \log \mathrm{softmax}(o)_i`;
    unlike KL it keeps the target entropy, a constant with no gradient.
    Arguments and reduction: :class:`SimDRAxisLoss`.
    """

    def axis_loss(self, pred: Tensor, target: Tensor) -> Tensor:
        """Cross-entropy of one axis, shape (N, K, L) -> (N, K)."""
        return -(target * F.log_softmax(pred.float(), dim=-1)).sum(-1)
