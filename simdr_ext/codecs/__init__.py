# Copyright (c) simdr_ext contributors. All rights reserved.
from .simdr_label import SimDRLabel

__all__ = ['SimDRLabel']
