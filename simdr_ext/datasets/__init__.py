# Copyright (c) simdr_ext contributors. All rights reserved.
from .bundled_data import bundled_data_root, config_path
from .checked_datasets import (CheckedCocoDataset, CheckedCrowdPoseDataset,
                               CheckedMpiiDataset, InputCheckMixin, bind_codec,
                               checked_loading, codec_loader)
from .checked_metric import CheckedCocoMetric
from .data_files import DataFileError, read_detections, read_json_file
from .transforms import (CheckedLoadImage, JointsDatasetBBoxTransform,
                         JointsDatasetHalfBody)

__all__ = [
    'CheckedCocoDataset', 'CheckedCrowdPoseDataset', 'CheckedMpiiDataset',
    'InputCheckMixin', 'bind_codec', 'checked_loading', 'codec_loader',
    'CheckedCocoMetric', 'CheckedLoadImage', 'DataFileError',
    'JointsDatasetBBoxTransform', 'JointsDatasetHalfBody',
    'bundled_data_root', 'config_path', 'read_detections',
    'read_json_file'
]
