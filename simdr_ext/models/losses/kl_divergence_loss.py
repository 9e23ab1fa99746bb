# Copyright (c) simdr_ext contributors. All rights reserved.
import torch
import torch.nn.functional as F
from torch import Tensor

from mmpose.registry import MODELS
from .simdr_axis_loss import SimDRAxisLoss


@MODELS.register_module()
class SimDRKLLoss(SimDRAxisLoss):
    r"""KL divergence between SimDR* Gaussian labels and predicted softmax.

    SimDR* trains against Gaussian labels with the Kullback-Leibler
    divergence (SimDR Sec. 3.3, below eq. (7)). Targets are first normalised
    to sum 1 per keypoint and axis (a truncated Gaussian does not; all-zero
    labels stay zero), then per keypoint and axis

    .. math:: KL(t \| \mathrm{softmax}(o)) = \frac{1}{L} \sum_i t_i
              (\log t_i - \log \mathrm{softmax}(o)_i),

    with ``0 log 0 = 0`` and the **mean over the L bins** (the authors' and
    mmpose's ``KLDiscretLoss``); x and y are added and averaged over the
    keypoints with weight > 0 (:class:`SimDRAxisLoss`). mmpose's
    ``KLDiscretLoss`` instead sums over instances and divides by K, so its
    value grows with the batch size.

    Args:
        use_target_weight (bool): Weigh keypoints by ``target_weight``.
            Defaults to ``True``.
        loss_weight (float): Factor on the loss. Defaults to 1.0.
    """

    def axis_loss(self, pred: Tensor, target: Tensor) -> Tensor:
        """Bin-averaged KL divergence of one axis, (N, K, L) -> (N, K)."""
        target = target.to(torch.float32)
        mass = target.sum(-1, keepdim=True)
        target = target / mass.clamp(min=torch.finfo(target.dtype).tiny)
        # xlogy(t, t) = t log t with 0 log 0 = 0
        kl = torch.xlogy(target, target) - target * F.log_softmax(
            pred.float(), dim=-1)
        return kl.mean(-1)
