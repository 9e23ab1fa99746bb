# Copyright (c) simdr_ext contributors. All rights reserved.
from .kl_divergence_loss import SimDRKLLoss
from .label_smooth_ce_loss import LabelSmoothCELoss

__all__ = ['LabelSmoothCELoss', 'SimDRKLLoss']
