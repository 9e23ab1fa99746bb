# Copyright (c) simdr_ext contributors. All rights reserved.
import numpy as np
import pytest
import torch

from mmpose.registry import KEYPOINT_CODECS
from simdr_ext.models.utils import flip_simdr_vectors, shift_bins


@pytest.mark.parametrize('split_ratio', [1.0, 1.5, 2.0, 3.0])
def test_flipped_labels_map_back_to_the_original_bins(split_ratio):
    """Encode x, and its mirror w - 1 - x; flipping the mirror's labels
    must decode to x again (within the 1/(2k) quantisation, and the linear
    resampling of a fractional shift)."""
    w, h = 48, 64
    codec = KEYPOINT_CODECS.build(
        dict(type='SimDRLabel', input_size=(w, h), split_ratio=split_ratio))
    rng = np.random.default_rng(0)
    kp = 4 + rng.random((1, 3, 2)) * 40
    mirrored = kp.copy()
    mirrored[..., 0] = w - 1 - kp[..., 0]
    flip_indices = [0, 2, 1]
    mirrored = mirrored[:, flip_indices]
    enc = codec.encode(mirrored)
    fx, fy = flip_simdr_vectors(
        torch.from_numpy(enc['keypoint_x_labels']),
        torch.from_numpy(enc['keypoint_y_labels']), flip_indices, w,
        split_ratio)
    decoded, _ = codec.decode(fx.numpy(), fy.numpy())
    # each of the two encodings rounds by at most 1/(2k)
    assert np.abs(decoded - kp).max() <= 1.0 / split_ratio + 1e-4


def test_shift_bins_integer_and_fractional():
    v = torch.arange(5.0)[None]
    assert shift_bins(v, 1.0).tolist() == [[1, 2, 3, 4, 4]]
    assert shift_bins(v, 0.5).tolist() == [[0.5, 1.5, 2.5, 3.5, 4.0]]
    assert shift_bins(v, -1.0).tolist() == [[0, 0, 1, 2, 3]]


def test_wrong_flip_indices_length_raises():
    with pytest.raises(ValueError, match='flip_indices'):
        flip_simdr_vectors(
            torch.zeros(1, 3, 8), torch.zeros(1, 3, 8), [0, 1], 4, 2.0)
