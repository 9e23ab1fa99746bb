# Copyright (c) simdr_ext contributors. All rights reserved.
from .kl_divergence_loss import SimDRKLLoss
from .simdr_axis_loss import SimDRAxisLoss
from .soft_label_ce_loss import SoftLabelCELoss

__all__ = ['SoftLabelCELoss', 'SimDRKLLoss', 'SimDRAxisLoss']
