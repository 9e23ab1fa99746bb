# Copyright (c) simdr_ext contributors. All rights reserved.
from .checked_datasets import (CheckedCocoDataset, CheckedCrowdPoseDataset,
                               CheckedMpiiDataset, InputCheckMixin)
from .checked_metric import CheckedCocoMetric
from .data_files import (DataFileError, check_coco_annotations,
                         check_mpii_annotations, read_detections,
                         read_json_file)

__all__ = [
    'CheckedCocoDataset', 'CheckedCrowdPoseDataset', 'CheckedMpiiDataset',
    'InputCheckMixin', 'CheckedCocoMetric', 'DataFileError',
    'check_coco_annotations', 'check_mpii_annotations', 'read_detections',
    'read_json_file'
]
