# Copyright (c) simdr_ext contributors. All rights reserved.
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from mmpose.registry import MODELS
from .simdr_axis_loss import SimDRAxisLoss


def kl_terms(pred: Tensor, target: Tensor) -> Tensor:
    """``t (log t - log softmax(o))`` per bin, (N, K, L) -> (N, K, L), in
    float32: ``KLDivLoss(reduction='none')``'s terms, ``0 log 0 = 0``."""
    target = target.to(torch.float32)
    return (torch.xlogy(target, target) -
            target * F.log_softmax(pred.float(), dim=-1))


@MODELS.register_module()
class NMTNormLoss(SimDRAxisLoss):
    r"""The SimDR authors' ``NMTNORMCritierion`` on the codec's targets.

    SimCC ``lib/core/loss.py`` l.48-98: per keypoint and axis the KL
    divergence between the label-smoothed one-hot target ``t`` and the
    predicted softmax, **averaged over the L bins** (``KLDivLoss(reduction=
    'none')`` then ``mean(dim=1)``, l.55 and l.82),

    .. math:: l = \frac{1}{L} \sum_i t_i (\log t_i - \log
        \mathrm{softmax}(o)_i), \quad 0 \log 0 = 0,

    times the keypoint weight, averaged over the batch, x and y added and
    summed over keypoints, divided by the keypoint count (l.90-98):
    :math:`\frac{1}{N K} \sum_{n,k} w_{nk} (l^x_{nk} + l^y_{nk})`. Unlike
    :class:`SimDRKLLoss` the divisor is ``N K`` whatever the weights (a
    batch with fewer visible keypoints gives a smaller loss) and the
    targets are taken as given (the authors' smoothed one-hot sums to 1; so
    does :class:`SimDRLabel`'s). The authors smooth the integer label in
    the loss (``LOSS.LABEL_SMOOTHING``, default 0.1, ``lib/config/
    default.py`` l.63); here ``SimDRLabel(label_smoothing=...)`` writes the
    same targets. On SimDR*'s Gaussian targets (:class:`SASimDRLabel`,
    ``normalize=True``) the same arithmetic is the authors' SimDR*
    ``KLDiscretLoss`` (l.22-46: KL averaged over bins, times the weight,
    averaged over the batch, x + y summed over joints, / num_joints), the
    targets again taken as given (a Gaussian cut by the crop edge is not
    renormalised, unlike :class:`SimDRKLLoss`). An empty batch gives 0
    (still attached to the graph).

    Args:
        use_target_weight (bool): Weigh keypoints by ``target_weight``
            (the authors always do). Defaults to ``True``.
        loss_weight (float): Factor on the loss. Defaults to 1.0.
    """

    def axis_loss(self, pred: Tensor, target: Tensor) -> Tensor:
        """Bin-averaged KL divergence of one axis, (N, K, L) -> (N, K)."""
        return kl_terms(pred, target).mean(-1)

    def reduce(self, per_keypoint: Tensor,
               weights: Optional[Tensor]) -> Tensor:
        """``sum(w l) / divisor``: weights (N, K) or ``None`` (1) times
        the loss per keypoint (N, K), summed, over :meth:`divisor`."""
        if weights is not None:
            per_keypoint = per_keypoint * weights.to(
                per_keypoint.dtype).reshape(per_keypoint.shape)
        return per_keypoint.sum() / self.divisor(per_keypoint)

    def divisor(self, per_keypoint: Tensor) -> int:
        """``N K`` of a loss per keypoint (N, K), at least 1."""
        return max(per_keypoint.numel(), 1)
