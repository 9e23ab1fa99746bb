# Copyright (c) simdr_ext contributors. All rights reserved.
import numpy as np
import pytest
import torch

from mmpose.registry import KEYPOINT_CODECS

# float32 output of a coordinate below 512 px is exact to 512 * 2**-24 < 1e-4
F32_TOL = 1e-4


def build(**kwargs):
    cfg = dict(type='SimDRLabel', input_size=(48, 64))
    cfg.update(kwargs)
    return KEYPOINT_CODECS.build(cfg)


@pytest.mark.parametrize('split_ratio', [1.0, 1.5, 2.0, 3.0])
def test_round_trip_error_below_half_bin(split_ratio):
    """SimDR Appendix D: decoding the target itself errs < 1/(2k) px."""
    codec = build(split_ratio=split_ratio)
    rng = np.random.default_rng(0)
    # sub-pixel keypoints in [0.1, 0.9] of the input, away from the borders
    keypoints = rng.uniform(0.1, 0.9, (8, 17, 2)) * np.array(codec.input_size)
    enc = codec.encode(keypoints)
    decoded, scores = codec.decode(enc['keypoint_x_labels'],
                                   enc['keypoint_y_labels'])
    err = np.abs(decoded - keypoints)
    assert err.max() < 0.5 / split_ratio + F32_TOL
    # the bound is tight: some keypoint gets close to it
    assert err.max() > 0.4 / split_ratio
    assert decoded.shape == (8, 17, 2) and scores.shape == (8, 17)


@pytest.mark.parametrize('split_ratio,shape', [(1.5, (72, 96)),
                                               (2.0, (96, 128)),
                                               (3.0, (144, 192))])
def test_label_shapes_use_rounded_bin_count(split_ratio, shape):
    codec = build(split_ratio=split_ratio)
    enc = codec.encode(np.full((2, 5, 2), 10.0))
    assert enc['keypoint_x_labels'].shape == (2, 5, shape[0])
    assert enc['keypoint_y_labels'].shape == (2, 5, shape[1])
    assert enc['keypoint_weights'].shape == (2, 5)
    assert enc['keypoint_x_labels'].dtype == np.float32


def test_label_smoothing_mass():
    eps = 0.1
    codec = build(split_ratio=2.0, label_smoothing=eps)
    keypoints = np.array([[[10.2, 20.7], [30.0, 5.25]]])
    enc = codec.encode(keypoints)
    lx = enc['keypoint_x_labels'][0, 0]
    target = int(np.floor(10.2 * 2 + 0.5))
    assert lx[target] == pytest.approx(1 - eps)
    others = np.delete(lx, target)
    np.testing.assert_allclose(others, eps / (96 - 1), rtol=1e-6)
    np.testing.assert_allclose(
        enc['keypoint_y_labels'].sum(-1), 1.0, rtol=1e-5)


def test_one_hot_without_smoothing():
    codec = build(split_ratio=3.0)
    enc = codec.encode(np.array([[[4.0, 7.0]]]))
    lx = enc['keypoint_x_labels'][0, 0]
    assert lx[12] == 1.0 and lx.sum() == 1.0


def test_invisible_off_image_and_nan_keypoints_get_zero_weight():
    codec = build(split_ratio=2.0, label_smoothing=0.1)
    keypoints = np.array([[[10.0, 10.0], [10.0, 10.0], [-3.0, 10.0],
                           [10.0, 64.0], [np.nan, 5.0], [np.inf, 1.0],
                           [47.7, 63.7]]])
    visible = np.array([[1, 0, 1, 1, 1, 1, 1]], dtype=np.float32)
    enc = codec.encode(keypoints, visible)
    np.testing.assert_array_equal(enc['keypoint_weights'],
                                  [[1, 0, 0, 0, 0, 0, 1]])
    # weight-0 keypoints carry no label mass, and everything is finite
    assert np.all(enc['keypoint_x_labels'][0, 1:6] == 0)
    assert np.all(np.isfinite(enc['keypoint_x_labels']))
    # 47.7 * 2 rounds to 95, the last bin: still inside
    assert enc['keypoint_x_labels'][0, 6, 95] == pytest.approx(0.9)


def test_visibility_none_means_visible_and_nan_visibility_invisible():
    codec = build()
    kp = np.full((1, 2, 3), 5.0)  # D = 3: only x and y are used
    assert codec.encode(kp)['keypoint_weights'].tolist() == [[1.0, 1.0]]
    vis = np.array([[np.nan, 1.0]])
    assert codec.encode(kp, vis)['keypoint_weights'].tolist() == [[0.0, 1.0]]


def test_decode_scores_are_softmax_probabilities():
    codec = build(split_ratio=1.0)
    x = np.zeros((1, 1, 48), dtype=np.float32)
    y = np.zeros((1, 1, 64), dtype=np.float32)
    x[0, 0, 5] = np.log(47.0)  # softmax(5) = 47 / (47 + 47) = 0.5
    y[0, 0, 9] = 1000.0  # huge logit: probability 1, no overflow
    kp, score = codec.decode(x, y)
    np.testing.assert_allclose(kp, [[[5.0, 9.0]]])
    assert score[0, 0] == pytest.approx(0.5, rel=1e-5)


def test_torch_decoder_matches_numpy():
    codec = build(split_ratio=2.0)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 17, 96)).astype(np.float32) * 3
    y = rng.normal(size=(4, 17, 128)).astype(np.float32) * 3
    kp_np, sc_np = codec.decode(x, y)
    kp_t, sc_t = codec.decode_torch(torch.from_numpy(x), torch.from_numpy(y))
    np.testing.assert_array_equal(kp_np, kp_t.numpy())
    np.testing.assert_allclose(sc_np, sc_t.numpy(), rtol=1e-5)
    kps, scs = codec.batch_decode(torch.from_numpy(x), torch.from_numpy(y))
    assert len(kps) == 4 and kps[0].shape == (1, 17, 2)
    np.testing.assert_array_equal(np.concatenate(kps), kp_np)


def test_decode_rejects_vectors_of_another_size():
    codec = build(split_ratio=2.0)
    with pytest.raises(ValueError, match='SimDRLabel expects 96 x bins'):
        codec.decode(np.zeros((1, 3, 64)), np.zeros((1, 3, 128)))


@pytest.mark.parametrize('kwargs,match', [
    (dict(split_ratio=0.5), 'split_ratio'),
    (dict(split_ratio=float('nan')), 'split_ratio'),
    (dict(label_smoothing=1.0), 'label_smoothing'),
    (dict(label_smoothing=-0.1), 'label_smoothing'),
    (dict(input_size=(0, 64)), 'input_size'),
    (dict(input_size=(48, )), 'input_size'),
],
                         ids=['k<1', 'k-nan', 'eps=1', 'eps<0', 'zero-w',
                              'one-dim'])
def test_invalid_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=f'SimDRLabel got {match}'):
        build(**kwargs)


def test_encode_rejects_bad_shapes():
    codec = build()
    with pytest.raises(ValueError, match='SimDRLabel.encode'):
        codec.encode(np.zeros((3, 2)))
    with pytest.raises(ValueError, match='keypoints_visible'):
        codec.encode(np.zeros((1, 3, 2)), np.ones((1, 4)))
