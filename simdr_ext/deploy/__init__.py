# Copyright (c) simdr_ext contributors. All rights reserved.
"""ONNX export with the decoder in the graph (needs the ``onnx`` extra)."""
from .onnx_export import (PRECISIONS, DecodedPoseModel, crop_geometry,
                          export_onnx, head_outputs)

__all__ = ['PRECISIONS', 'DecodedPoseModel', 'crop_geometry', 'export_onnx',
           'head_outputs']
