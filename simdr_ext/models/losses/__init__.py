# Copyright (c) simdr_ext contributors. All rights reserved.
from .kl_divergence_loss import SimDRKLLoss
from .nmt_loss import NMTLoss
from .nmt_norm_loss import NMTNormLoss
from .simdr_axis_loss import SimDRAxisLoss
from .soft_label_ce_loss import SoftLabelCELoss

__all__ = ['SoftLabelCELoss', 'SimDRKLLoss', 'SimDRAxisLoss', 'NMTNormLoss',
           'NMTLoss']
