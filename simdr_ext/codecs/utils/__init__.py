# Copyright (c) simdr_ext contributors. All rights reserved.
from .simdr import (decode_simdr, decode_simdr_torch, keypoint_bins, num_bins,
                    smoothed_one_hot, softmax_argmax)

__all__ = [
    'decode_simdr', 'decode_simdr_torch', 'keypoint_bins', 'num_bins',
    'smoothed_one_hot', 'softmax_argmax'
]
