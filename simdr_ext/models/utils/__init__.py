# Copyright (c) simdr_ext contributors. All rights reserved.
from .simdr_flip import flip_simdr_vectors, shift_bins

__all__ = ['flip_simdr_vectors', 'shift_bins']
