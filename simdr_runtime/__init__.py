# Copyright (c) simdr_ext contributors. All rights reserved.
"""simdr_runtime: top-down pose estimation with numpy, OpenCV and
onnxruntime only.

A separate top-level package so that importing it runs neither
``simdr_ext/__init__.py`` (which imports torch and mmpose) nor any mm*
package. The crop geometry comes from the exported file's metadata
(written by ``simdr_ext.deploy``, whose ``crop_geometry`` reads it from a
config); the batched PyTorch path
(``simdr_ext.apis.BatchedTopdownInferencer``) shares the crops and the
batching loop. Person boxes can come from an
end-to-end YOLOX / RTMDet detector ONNX (:class:`OnnxPersonDetector`);
:func:`draw` draws the results.
"""
from .crops import (box_center_scale, check_boxes, crop_boxes, read_image,
                    to_image, warp_matrices)
from .detector import RTMDET_MEAN, RTMDET_STD, OnnxPersonDetector
from .drawing import COCO_SKELETON, draw
from .engine import CropGeometry, run_topdown
from .image_size import (DEFAULT_MAX_PIXELS, ImageSizeError, check_pixels,
                         decode_image, header_size, max_image_pixels)
from .onnx_runtime import METADATA_KEYS, OnnxPoseRuntime

__all__ = [
    'CropGeometry', 'run_topdown', 'OnnxPoseRuntime', 'METADATA_KEYS',
    'OnnxPersonDetector', 'RTMDET_MEAN', 'RTMDET_STD', 'draw',
    'COCO_SKELETON',
    'box_center_scale', 'check_boxes', 'crop_boxes', 'read_image',
    'to_image', 'warp_matrices', 'DEFAULT_MAX_PIXELS', 'ImageSizeError',
    'check_pixels', 'decode_image', 'header_size', 'max_image_pixels'
]
