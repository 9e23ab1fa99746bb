# Copyright (c) simdr_ext contributors. All rights reserved.
"""The checked body-keypoint data sets (COCO, CrowdPose, MPII).

Their classes report this module as theirs: mmpose's inferencers read a
data set's object type from its class's module path (``body`` here, as for
mmpose's ``mmpose.datasets.datasets.body``) and pick the matching default
person detector.
"""
from .checked_datasets import (CheckedCocoDataset, CheckedCrowdPoseDataset,
                               CheckedMpiiDataset)

__all__ = ['CheckedCocoDataset', 'CheckedCrowdPoseDataset',
           'CheckedMpiiDataset']
