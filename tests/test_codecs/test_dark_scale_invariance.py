# Copyright (c) simdr_ext contributors. All rights reserved.
"""DARK decoding reads the shape of a heatmap, not its scale.

DARK's modulation (eq. 10-11) rescales the blurred map to the original
maximum and the Taylor step (eq. 9) uses derivatives of log(h), in which a
factor c only adds log(c): decoding c * h equals decoding h. The floor
taken before the log (``EPS``) must stay far below any value the Taylor
window reads, or a small-scale network output (a model trained with a
small target amplitude, or a heatmap after a sigmoid-free low-precision
head) decodes elsewhere.
"""
import numpy as np
import pytest
import torch

from mmpose.registry import KEYPOINT_CODECS
from simdr_ext.codecs.utils import gaussian_heatmaps

# float32 coordinates below 512 px are exact to 512 * 2**-24 < 1e-4 px; the
# log step adds a few float32 roundings of values of order 1
TOL = 1e-3


@pytest.mark.parametrize('scale', [1e-2, 1e-4, 1e-6])
def test_dark_decoding_of_a_scaled_heatmap_is_the_same(scale):
    codec = KEYPOINT_CODECS.build(
        dict(type='DarkHeatmap', input_size=(192, 256),
             heatmap_size=(48, 64), sigma=2.0, decode_mode='dark',
             blur_kernel_size=11))
    rng = np.random.default_rng(0)
    k = 17
    centres = 8 + rng.random((k, 2)) * np.array([32.0, 48.0])
    maps = gaussian_heatmaps(centres[None], np.ones((1, k)), (48, 64),
                             2.0).astype(np.float32)
    kpts, _ = codec.decode(maps)
    small, _ = codec.decode(maps * np.float32(scale))
    np.testing.assert_allclose(small, kpts, atol=TOL)
    batch = torch.from_numpy(np.stack([maps, maps * np.float32(scale)]))
    both, _ = codec.batch_decode(batch)
    np.testing.assert_allclose(both[1], both[0], atol=TOL)
