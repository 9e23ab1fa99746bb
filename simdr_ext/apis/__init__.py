# Copyright (c) simdr_ext contributors. All rights reserved.
"""Inference: from pictures to poses in one call (:func:`estimate_poses`,
:class:`PoseInferencer`), person boxes (:class:`PersonDetector`) and the
batched top-down inferencer (:class:`BatchedTopdownInferencer`)."""
from .batched_inferencer import (BatchedTopdownInferencer,
                                 batch_inference_topdown)
from .person_detector import (WHOLE_IMAGE, PersonDetector,
                              dataset_object_type, default_detector)
from .pose_inferencer import PoseInferencer, estimate_poses

__all__ = [
    'BatchedTopdownInferencer', 'batch_inference_topdown', 'PersonDetector',
    'PoseInferencer', 'WHOLE_IMAGE', 'dataset_object_type',
    'default_detector', 'estimate_poses'
]
