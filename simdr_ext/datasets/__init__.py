# Copyright (c) simdr_ext contributors. All rights reserved.
from .checked_datasets import (CheckedCocoDataset, CheckedCrowdPoseDataset,
                               CheckedMpiiDataset, InputCheckMixin, bind_codec,
                               codec_loader)
from .checked_metric import CheckedCocoMetric
from .data_files import DataFileError, read_detections, read_json_file

__all__ = [
    'CheckedCocoDataset', 'CheckedCrowdPoseDataset', 'CheckedMpiiDataset',
    'InputCheckMixin', 'bind_codec', 'codec_loader', 'CheckedCocoMetric', 'DataFileError',
    'read_detections', 'read_json_file'
]
