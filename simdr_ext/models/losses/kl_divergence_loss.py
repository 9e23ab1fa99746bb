# Copyright (c) simdr_ext contributors. All rights reserved.
import torch
import torch.nn.functional as F
from torch import Tensor

from mmpose.registry import MODELS
from .simdr_axis_loss import SimDRAxisLoss


@MODELS.register_module()
class SimDRKLLoss(SimDRAxisLoss):
    r"""KL divergence between SimDR* Gaussian labels and predicted softmax.

    SimDR* trains with the KL divergence (Sec. 3.3, below eq. (7)). Targets
    are normalised to sum 1 per keypoint and axis (a truncated Gaussian does
    not; all-zero labels stay zero), then
    :math:`KL = \frac{1}{L} \sum_i t_i (\log t_i - \log
    \mathrm{softmax}(o)_i)` with ``0 log 0 = 0``: the **mean over the L
    bins**, as the authors' and mmpose's ``KLDiscretLoss``, which however
    sums over instances and divides by K (its value grows with the batch).
    Arguments and reduction: :class:`SimDRAxisLoss`.
    """

    def axis_loss(self, pred: Tensor, target: Tensor) -> Tensor:
        """Bin-averaged KL divergence of one axis, (N, K, L) -> (N, K)."""
        target = target.to(torch.float32)
        mass = target.sum(-1, keepdim=True)
        target = target / mass.clamp(min=torch.finfo(target.dtype).tiny)
        # xlogy(t, t) = t log t with 0 log 0 = 0
        return (torch.xlogy(target, target) -
                target * F.log_softmax(pred.float(), dim=-1)).mean(-1)
