# Copyright (c) simdr_ext contributors. All rights reserved.
"""simdr_runtime: top-down pose estimation with numpy, OpenCV and
onnxruntime only.

A separate top-level package so that importing it runs neither
``simdr_ext/__init__.py`` (which imports torch and mmpose) nor any mm*
package. ``simdr_ext.apis.inference`` (PyTorch) shares its crop geometry and
batching loop.
"""
from .crops import (box_center_scale, check_boxes, crop_boxes, read_image,
                    to_image, warp_matrices)
from .engine import CropGeometry, run_topdown
from .onnx_runtime import METADATA_KEYS, OnnxPoseRuntime

__all__ = [
    'CropGeometry', 'run_topdown', 'OnnxPoseRuntime', 'METADATA_KEYS',
    'box_center_scale', 'check_boxes', 'crop_boxes', 'read_image',
    'to_image', 'warp_matrices'
]
