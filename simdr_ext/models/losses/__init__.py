# Copyright (c) simdr_ext contributors. All rights reserved.
from .kl_divergence_loss import SimDRKLLoss
from .label_smooth_ce_loss import LabelSmoothCELoss
from .simdr_axis_loss import SimDRAxisLoss, weighted_keypoint_mean

__all__ = [
    'LabelSmoothCELoss', 'SimDRKLLoss', 'SimDRAxisLoss',
    'weighted_keypoint_mean'
]
