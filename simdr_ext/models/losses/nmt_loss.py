# Copyright (c) simdr_ext contributors. All rights reserved.
from torch import Tensor

from mmpose.registry import MODELS
from .nmt_norm_loss import NMTNormLoss, kl_terms


@MODELS.register_module()
class NMTLoss(NMTNormLoss):
    r"""The SimDR authors' ``NMTCritierion`` on the codec's targets.

    SimCC ``lib/core/loss.py`` l.100-149, the loss of every SimDR
    experiment file that sets ``LOSS.TYPE: 'NMTCritierion'``: per keypoint
    and axis the KL divergence between the label-smoothed one-hot target
    ``t`` and the predicted softmax, **summed over the L bins**
    (``KLDivLoss(reduction='none')`` then ``sum(dim=1)``, l.134),

    .. math:: l = \sum_i t_i (\log t_i - \log \mathrm{softmax}(o)_i),
        \quad 0 \log 0 = 0,

    times the keypoint weight, summed over the batch and the keypoints, x
    and y added, divided by the batch size (l.136-149):
    :math:`\frac{1}{N} \sum_{n,k} w_{nk} (l^x_{nk} + l^y_{nk})`. Its
    gradient is :class:`SoftLabelCELoss`'s times ``sum(w) / N`` (KL and
    cross-entropy differ by the target entropy, a constant); the value
    differs by that entropy. An empty batch gives 0 (still attached to the
    graph). Arguments: :class:`NMTNormLoss`.
    """

    def axis_loss(self, pred: Tensor, target: Tensor) -> Tensor:
        """Bin-summed KL divergence of one axis, (N, K, L) -> (N, K)."""
        return kl_terms(pred, target).sum(-1)

    def divisor(self, per_keypoint: Tensor) -> int:
        """The batch size ``N`` of a loss per keypoint (N, K), at least
        1."""
        return max(per_keypoint.shape[0], 1)
