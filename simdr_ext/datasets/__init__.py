# Copyright (c) simdr_ext contributors. All rights reserved.
from .checked_datasets import (CheckedCocoDataset, CheckedCrowdPoseDataset,
                               CheckedMpiiDataset, InputCheckMixin,
                               valid_detection)

__all__ = [
    'CheckedCocoDataset', 'CheckedCrowdPoseDataset', 'CheckedMpiiDataset',
    'InputCheckMixin', 'valid_detection'
]
