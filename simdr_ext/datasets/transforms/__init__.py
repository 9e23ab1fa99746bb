# Copyright (c) simdr_ext contributors. All rights reserved.
from .checked_load_image import CheckedLoadImage
from .joints_dataset_bbox_transform import JointsDatasetBBoxTransform
from .joints_dataset_half_body import JointsDatasetHalfBody

__all__ = [
    'CheckedLoadImage', 'JointsDatasetBBoxTransform', 'JointsDatasetHalfBody'
]
