# Copyright (c) simdr_ext contributors. All rights reserved.
import math

import numpy as np
import pytest
import torch

from mmpose.registry import KEYPOINT_CODECS
from simdr_ext.codecs.utils import label_peak_probability, parabola_offset_1d

# float32 output of a coordinate below 512 px is exact to 512 * 2**-24 < 1e-4
F32_TOL = 1e-4
EPS32 = 2.0**-24  # float32 relative rounding


def build(**kwargs):
    cfg = dict(type='SASimDRLabel', input_size=(48, 64))
    cfg.update(kwargs)
    return KEYPOINT_CODECS.build(cfg)


def log_labels(enc):
    """Perfect logits: log of the float32 labels, taken in float64."""
    with np.errstate(divide='ignore'):
        return tuple(
            np.log(enc[key].astype(np.float64))
            for key in ('keypoint_x_labels', 'keypoint_y_labels'))


@pytest.mark.parametrize('sigma', [1.0, 2.0, 6.0])
def test_normalised_label_mass_and_peak_value(sigma):
    codec = build(split_ratio=2.0, sigma=sigma)
    # x * k = 48 and y * k = 64 are bins well inside 96 and 128 bins
    enc = codec.encode(np.array([[[24.0, 32.0]]]))
    lx = enc['keypoint_x_labels'][0, 0]
    assert lx.argmax() == 48
    assert lx[48] == pytest.approx(
        1 / (sigma * math.sqrt(2 * math.pi)), rel=1e-6)
    # Poisson summation: |sum - 1| <= 2 exp(-2 pi^2 sigma^2) (< 1e-8 for
    # sigma >= 1), plus float32 rounding of 96 terms, 96 * 2**-24 < 1e-5
    np.testing.assert_allclose(enc['keypoint_x_labels'].sum(-1), 1, atol=1e-5)
    np.testing.assert_allclose(enc['keypoint_y_labels'].sum(-1), 1, atol=1e-5)


def test_unnormalised_label_peaks_at_one():
    enc = build(
        normalize=False, round_center=True).encode(np.array([[[10.3, 20.6]]]))
    assert enc['keypoint_x_labels'].max() == 1.0
    assert enc['keypoint_y_labels'][0, 0, 41] == 1.0


@pytest.mark.parametrize(
    'round_center', [False, True], ids=['paper', 'mmpose'])
def test_label_formula_and_round_center(round_center):
    sigma, k = 3.0, 2.0
    codec = build(split_ratio=k, sigma=sigma, round_center=round_center)
    x = 10.15  # x * k = 20.3
    lx = codec.encode(np.array([[[x, 5.0]]]))['keypoint_x_labels'][0, 0]
    centre = 20.0 if round_center else x * k
    bins = np.arange(96)
    expected = np.exp(-(bins - centre)**2 / (2 * sigma**2)) / (
        sigma * math.sqrt(2 * math.pi))
    # labels are computed in float32: the centre is exact to 2**-19 bins and
    # (i - c)^2 / (2 sigma^2) to ~1e-6 for |i - c| < 30, so values agree to
    # ~1e-5 relative; the tails below 1e-7 only to an absolute 1e-7
    np.testing.assert_allclose(lx, expected, rtol=1e-5, atol=1e-7)
    assert lx.argmax() == 20
    # the vertex of the parabola through the log label is the centre
    with np.errstate(divide='ignore'):  # far tails underflow to 0
        log_label = np.log(lx[None].astype(float))
    offset = parabola_offset_1d(log_label, np.array([20]))
    assert 20 + offset[0] == pytest.approx(centre, abs=1e-5)


def test_separate_sigmas_per_axis():
    codec = build(sigma=(2.0, 5.0), round_center=True)
    enc = codec.encode(np.array([[[20.0, 30.0]]]))
    for key, sigma, c in (('keypoint_x_labels', 2.0, 40), ('keypoint_y_labels',
                                                           5.0, 60)):
        log_label = np.log(enc[key][0, 0, c - 1:c + 2].astype(float))
        # second difference of log N(i; c, sigma) is -1 / sigma^2
        curvature = log_label[0] - 2 * log_label[1] + log_label[2]
        assert curvature == pytest.approx(-1 / sigma**2, rel=1e-5)
    assert codec.peaks[0] > codec.peaks[1]


def test_float_split_ratio_shapes_and_centre():
    codec = build(split_ratio=1.5, sigma=2.0)
    enc = codec.encode(np.array([[[11.0, 7.0], [0.2, 63.6]]]))
    assert enc['keypoint_x_labels'].shape == (1, 2, 72)
    assert enc['keypoint_y_labels'].shape == (1, 2, 96)
    assert enc['keypoint_x_labels'][0, 0].argmax() == 16  # 11 * 1.5 = 16.5
    # 63.6 * 1.5 = 95.4 rounds to 95, the last of 96 bins: inside
    assert enc['keypoint_weights'].tolist() == [[1.0, 1.0]]


@pytest.mark.parametrize('split_ratio', [1.5, 2.0, 3.0])
@pytest.mark.parametrize('sigma', [2.0, 6.0])
def test_round_trip(split_ratio, sigma):
    codec = build(split_ratio=split_ratio, sigma=sigma)
    rng = np.random.default_rng(0)
    # sub-pixel keypoints in [0.1, 0.9] of the input, away from the borders
    keypoints = rng.uniform(0.1, 0.9, (4, 17, 2)) * np.array(codec.input_size)
    logits = log_labels(codec.encode(keypoints))
    argmax_kp, _ = codec.decode(*logits)
    # the argmax of a Gaussian over integer bins is the nearest bin
    argmax_err = np.abs(argmax_kp - keypoints).max()
    assert 0.4 / split_ratio < argmax_err < 0.5 / split_ratio + F32_TOL
    refined = build(split_ratio=split_ratio, sigma=sigma, decode_refine=True)
    kp, scores = refined.decode(*logits)
    # The parabola is exact for log N, so only float32 label rounding is
    # left: |d log label| <= eps, the numerator (l- - l+) / 2 errs <= eps,
    # the curvature -1/sigma^2 errs <= 4 eps, so the offset (<= 1/2 bin)
    # errs <= (eps + 4 eps / 2) sigma^2 = 3 eps sigma^2 bins, / k px; the
    # float32 output adds 64 * eps px. Bound x2 for safety.
    bound = 2 * (3 * EPS32 * sigma**2 / split_ratio + 64 * EPS32)
    assert np.abs(kp - keypoints).max() < bound
    assert bound < 1e-3 * (0.5 / split_ratio)  # far below 1/(2k)
    # a perfect prediction scores ~1: >= exp(-1/(8 sigma^2)) off-bin
    assert scores.min() >= math.exp(-1 / (8 * sigma**2)) - 1e-6
    assert scores.max() <= 1.0


def test_scores_are_softmax_peak_over_target_peak():
    sigma = 6.0
    codec = build(sigma=sigma)
    peak = label_peak_probability(sigma)
    # about 1 / (sigma sqrt(2 pi)) = 0.0665: what mmpose's threshold drops
    assert peak == pytest.approx(
        1 / (sigma * math.sqrt(2 * math.pi)), rel=1e-9)
    x = np.zeros((1, 1, 96), dtype=np.float32)
    y = np.zeros((1, 1, 128), dtype=np.float32)
    x[0, 0, 5] = np.log(47.0)  # softmax(5) = 47 / (47 + 95) = 1/3 * 47/47.3
    y[0, 0, 9] = 1000.0  # probability 1: score clipped to 1
    kp, score = codec.decode(x, y)
    np.testing.assert_allclose(kp, [[[2.5, 4.5]]])
    assert score[0, 0] == pytest.approx(
        min(47 / (47 + 95) / peak, 1.0), rel=1e-5)
    uniform, _ = codec.decode(np.zeros((1, 96)), np.zeros((1, 128)))
    assert uniform.shape == (1, 1, 2)


def test_label_peak_probability_small_sigma():
    # sigma = 0.5: sum_j exp(-2 j^2) = 1 + 2 e^-2 + 2 e^-8 + ...
    expected = 1 / (1 + 2 * math.exp(-2) + 2 * math.exp(-8) +
                    2 * math.exp(-18))
    assert label_peak_probability(0.5) == pytest.approx(expected, rel=1e-12)


def test_invisible_off_input_and_nan_keypoints_get_zero_weight():
    codec = build(split_ratio=2.0)
    keypoints = np.array([[[10.0, 10.0], [10.0, 10.0], [-0.3, 10.0],
                           [10.0, 64.0], [np.nan, 5.0], [np.inf, 1.0],
                           [47.7, 63.7], [-0.2, 3.0]]])
    visible = np.array([[1, 0, 1, 1, 1, 1, 1, 1]], dtype=np.float32)
    enc = codec.encode(keypoints, visible)
    # -0.3 * 2 rounds to -1 (outside), -0.2 * 2 to 0 (inside), 47.7 * 2 to
    # 95 (the last bin): the rule of SimDRLabel
    np.testing.assert_array_equal(enc['keypoint_weights'],
                                  [[1, 0, 0, 0, 0, 0, 1, 1]])
    for key in ('keypoint_x_labels', 'keypoint_y_labels'):
        assert np.all(enc[key][0, 1:6] == 0)
        assert np.all(np.isfinite(enc[key]))
    # the unrounded centre -0.4 of the last keypoint: bin 0 is the peak
    assert enc['keypoint_x_labels'][0, 7].argmax() == 0


def test_torch_decoder_matches_numpy():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 17, 96)).astype(np.float32) * 3
    y = rng.normal(size=(4, 17, 128)).astype(np.float32) * 3
    for refine in (False, True):
        codec = build(decode_refine=refine)
        kp_np, sc_np = codec.decode(x, y)
        kp_t, sc_t = codec.decode_torch(
            torch.from_numpy(x), torch.from_numpy(y))
        np.testing.assert_allclose(kp_np, kp_t.numpy(), atol=F32_TOL)
        np.testing.assert_allclose(sc_np, sc_t.numpy(), rtol=1e-5)
        kps, scs = codec.batch_decode(torch.from_numpy(x), torch.from_numpy(y))
        assert len(kps) == 4 and kps[0].shape == (1, 17, 2)
        assert scs[0].shape == (1, 17)
        np.testing.assert_allclose(np.concatenate(kps), kp_np, atol=F32_TOL)


@pytest.mark.parametrize(
    'fn', [
        parabola_offset_1d, lambda v, i: parabola_offset_1d(
            torch.from_numpy(v), torch.from_numpy(i)).numpy()
    ],
    ids=['numpy', 'torch'])
def test_parabola_offset_edges_clamp_and_flat(fn):
    logits = np.array([
        [0.0, 1.0, 0.9, 0.0],  # (0 - 0.9) / (2 (0 - 2 + 0.9)) = 0.45 / 1.1
        [1.0, 0.0, 0.0, 0.0],  # argmax at the first bin: no step
        [0.0, 0.0, 0.0, 0.0],  # flat: no step
        [0.0, 1.0, 1.0, 0.0],  # tie: vertex at +0.5 exactly
        [0.0, 5.0, 5.0 - 1e-9, -np.inf],  # nearly a tie; -inf beyond
    ])
    index = np.array([1, 0, 1, 1, 1])
    offset = fn(logits, index)
    np.testing.assert_allclose(offset[:4], [0.45 / 1.1, 0.0, 0.0, 0.5])
    assert 0.49 < offset[4] <= 0.5


def test_decode_rejects_vectors_of_another_size():
    with pytest.raises(ValueError, match='SASimDRLabel expects 96 x bins'):
        build().decode(np.zeros((1, 3, 64)), np.zeros((1, 3, 128)))


@pytest.mark.parametrize(
    'kwargs,match', [
        (dict(split_ratio=0.9), 'split_ratio'),
        (dict(sigma=0.0), 'sigma'),
        (dict(sigma=-1.0), 'sigma'),
        (dict(sigma=(2.0, 0.0)), 'sigma'),
        (dict(sigma=(1.0, 2.0, 3.0)), 'sigma'),
        (dict(sigma=float('nan')), 'sigma'),
        (dict(input_size=(48, 0)), 'input_size'),
    ],
    ids=[
        'k<1', 'sigma=0', 'sigma<0', 'sigma_y=0', 'three-sigmas', 'sigma-nan',
        'zero-h'
    ])
def test_invalid_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=f'^SASimDRLabel got {match}'):
        build(**kwargs)
