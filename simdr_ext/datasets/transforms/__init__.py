# Copyright (c) simdr_ext contributors. All rights reserved.
from .checked_load_image import CheckedLoadImage

__all__ = ['CheckedLoadImage']
