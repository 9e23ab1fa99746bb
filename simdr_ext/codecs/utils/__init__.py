# Copyright (c) simdr_ext contributors. All rights reserved.
from .dark import (heatmap_argmax, heatmap_argmax_torch, modulate_heatmaps,
                   refine_dark, refine_dark_full, refine_dark_torch,
                   refine_shift, refine_shift_torch, taylor_offset,
                   taylor_offset_torch)
from .gaussian import (decode_gaussian_simdr, decode_gaussian_simdr_torch,
                       gaussian_heatmaps, gaussian_kernel_1d,
                       gaussian_labels_1d, kernel_sigma,
                       label_peak_probability, parabola_offset_1d,
                       parabola_offset_1d_torch)
from .simdr import (decode_simdr, decode_simdr_torch, keypoint_bins, num_bins,
                    smoothed_one_hot, softmax_argmax)

__all__ = [
    'decode_simdr', 'decode_simdr_torch', 'keypoint_bins', 'num_bins',
    'smoothed_one_hot', 'softmax_argmax', 'gaussian_labels_1d',
    'gaussian_heatmaps', 'kernel_sigma', 'gaussian_kernel_1d',
    'label_peak_probability', 'parabola_offset_1d', 'parabola_offset_1d_torch',
    'decode_gaussian_simdr', 'decode_gaussian_simdr_torch', 'heatmap_argmax',
    'heatmap_argmax_torch', 'refine_shift', 'refine_shift_torch',
    'taylor_offset', 'taylor_offset_torch', 'refine_dark', 'refine_dark_torch',
    'modulate_heatmaps', 'refine_dark_full'
]
