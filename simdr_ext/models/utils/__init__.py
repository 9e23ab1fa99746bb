# Copyright (c) simdr_ext contributors. All rights reserved.
from .accuracy import decoded_pck_accuracy
from .simdr_flip import flip_simdr_vectors, shift_bins

__all__ = ['decoded_pck_accuracy', 'flip_simdr_vectors', 'shift_bins']
