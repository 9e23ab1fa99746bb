# Copyright (c) simdr_ext contributors. All rights reserved.
from .simdr_head import SimDRHead

__all__ = ['SimDRHead']
