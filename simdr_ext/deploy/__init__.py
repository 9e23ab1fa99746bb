# Copyright (c) simdr_ext contributors. All rights reserved.
"""Deployment helpers (ONNX export); needs the ``onnx`` extra."""
