# Copyright (c) simdr_ext contributors. All rights reserved.
"""The codecs' maths as pure functions, filed by what they compute.

- ``gaussian.py`` draws Gaussian targets: SimDR* 1D labels (eq. 6-7),
  DARK's 2D heatmaps (eq. 13-14) and the peak of a normalised label.
- ``simdr.py`` maps coordinates to 1D bins and reads 1D vectors back:
  SimDR binning (eq. 2; DARK's on-map rule with k = 1), one-hot labels
  (eq. 3-4), softmax-argmax decoding (eq. 5) and SimDR*'s parabola step.
- ``dark.py`` reads coordinates off 2D heatmaps: argmax, the 1/4 pixel
  shift (DARK eq. 1), the blur kernel, modulation and Taylor step (eq. 9-11).
- ``validation.py`` checks what a codec is given; ``backend.py`` lets one
  function body take numpy arrays or torch tensors.

A function that accepts ``np.ndarray | Tensor`` returns the same kind;
only ``refine_dark``'s patch blur is written twice (the torch one
branch-free, for ONNX export).
"""
from .dark import (gaussian_kernel_1d, heatmap_argmax, kernel_sigma,
                   refine_dark, refine_shift, taylor_offset)
from .gaussian import (gaussian_heatmaps, gaussian_labels_1d,
                       label_peak_probability)
from .simdr import (decode_simdr, keypoint_bins, num_bins,
                    parabola_offset_1d, smoothed_one_hot, softmax_argmax)

__all__ = [
    'gaussian_heatmaps', 'gaussian_labels_1d', 'label_peak_probability',
    'decode_simdr', 'keypoint_bins', 'num_bins', 'parabola_offset_1d',
    'smoothed_one_hot', 'softmax_argmax', 'gaussian_kernel_1d',
    'heatmap_argmax', 'kernel_sigma', 'refine_dark', 'refine_shift',
    'taylor_offset'
]
