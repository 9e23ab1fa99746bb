# Copyright (c) simdr_ext contributors. All rights reserved.
from .tokenpose import TokenPose

__all__ = ['TokenPose']
