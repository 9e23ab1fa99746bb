# Copyright (c) simdr_ext contributors. All rights reserved.
"""Property tests over every simdr_ext codec (hypothesis, derandomised)."""
import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import simdr_ext  # noqa: F401 (registers the codecs)
from mmpose.registry import KEYPOINT_CODECS

# derandomize: the same examples on every run, so CI is reproducible
PROPERTY = settings(
    max_examples=50, deadline=None, derandomize=True, database=None)
# float32 output of a coordinate below 512 px is exact to 512 * 2**-24 < 1e-4
F32_TOL = 1e-4

sizes = st.tuples(st.integers(8, 64), st.integers(8, 64))
split_ratios = st.sampled_from([1.0, 1.5, 2.0, 2.5, 3.0])
sigmas = st.floats(0.5, 8.0)


@st.composite
def simdr_codecs(draw):
    """One of SimDRLabel / SASimDRLabel with random arguments."""
    size, k = draw(sizes), draw(split_ratios)
    if draw(st.booleans()):
        cfg = dict(
            type='SimDRLabel',
            label_smoothing=draw(st.sampled_from([0.0, 0.1, 0.3])))
    else:
        sigma = draw(st.one_of(sigmas, st.tuples(sigmas, sigmas)))
        cfg = dict(
            type='SASimDRLabel',
            sigma=sigma,
            normalize=draw(st.booleans()),
            round_center=draw(st.booleans()),
            decode_refine=draw(st.booleans()))
    return KEYPOINT_CODECS.build(dict(cfg, input_size=size, split_ratio=k))


@st.composite
def dark_codecs(draw):
    size = draw(sizes)
    ratio = draw(st.sampled_from([1, 2, 4]))
    heatmap_size = tuple(max(s // ratio, 1) for s in size)
    return KEYPOINT_CODECS.build(
        dict(
            type='DarkHeatmap',
            input_size=size,
            heatmap_size=heatmap_size,
            # a sigma wider than the map is refused: at most max(W, H)
            sigma=draw(st.floats(0.5, min(4.0, max(heatmap_size)))),
            unbiased=draw(st.booleans()),
            decode_mode=draw(st.sampled_from(['argmax', 'shift', 'dark'])),
            blur_kernel_size=draw(st.sampled_from([1, 3, 5, 9, 11]))))


@st.composite
def keypoint_sets(draw, size):
    """Keypoints partly off the input, with NaN/inf and odd visibilities."""
    n, k = draw(st.integers(0, 3)), draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    keypoints = (rng.random((n, k, 2)) * 1.4 - 0.2) * np.array(size)
    bad = rng.random((n, k, 2))
    keypoints[bad < 0.05] = np.nan
    keypoints[(bad >= 0.05) & (bad < 0.08)] = np.inf
    visible = rng.choice([0.0, 0.4, 0.5, 1.0, 2.0, np.nan], size=(n, k))
    return keypoints, visible


@st.composite
def encoded_sets(draw, codecs, instances=3):
    """A codec, up to ``instances`` keypoint sets and their encoding."""
    codec = draw(codecs)
    keypoints, visible = draw(keypoint_sets(codec.input_size))
    keypoints, visible = keypoints[:instances], visible[:instances]
    return codec, keypoints, visible, codec.encode(keypoints, visible)


def expected_weights(keypoints, visible, lengths, scale):
    """The documented rule, written out per keypoint: visible >= 0.5, finite,
    and the rounded position ``floor(x * scale + 0.5)`` inside the axis."""
    weights = np.zeros(keypoints.shape[:2], np.float32)
    for (n, k), vis in np.ndenumerate(visible):
        ok = vis >= 0.5  # False for NaN
        for axis in range(2):
            pos = keypoints[n, k, axis] * scale[axis]
            ok = ok and np.isfinite(pos) and \
                0 <= np.floor(pos + 0.5) <= lengths[axis] - 1
        weights[n, k] = ok
    return weights


@PROPERTY
@given(sample=encoded_sets(simdr_codecs()))
def test_simdr_codecs_encode_properties(sample):
    codec, keypoints, visible, enc = sample
    n, k = keypoints.shape[:2]
    wx, wy = codec.num_bins
    assert enc['keypoint_x_labels'].shape == (n, k, wx)
    assert enc['keypoint_y_labels'].shape == (n, k, wy)
    expected = expected_weights(keypoints, visible, (wx, wy),
                                (codec.split_ratio, ) * 2)
    np.testing.assert_array_equal(enc['keypoint_weights'], expected)
    for key in ('keypoint_x_labels', 'keypoint_y_labels'):
        labels = enc[key]
        assert labels.dtype == np.float32
        assert np.all(np.isfinite(labels)) and np.all(labels >= 0)
        assert not labels[expected == 0].any()
        assert np.all(labels[expected == 1].max(-1) > 0)


def decode_log_labels(codec, enc):
    """Decode perfect logits, the log of the labels (-inf where they
    underflow; all -inf rows for weight-0 keypoints): x, y, keypoints,
    scores."""
    with np.errstate(divide='ignore'):
        x, y = (
            np.log(enc[key].astype(np.float64))
            for key in ('keypoint_x_labels', 'keypoint_y_labels'))
    with np.errstate(invalid='ignore'):
        return (x, y) + tuple(codec.decode(x, y))


@PROPERTY
@given(sample=encoded_sets(simdr_codecs()))
def test_simdr_codecs_round_trip(sample):
    """Argmax of the target is the rounded bin: error <= 1 / (2k) px."""
    codec, keypoints, visible, enc = sample
    x, y, decoded, scores = decode_log_labels(codec, enc)
    assert decoded.shape == keypoints.shape and scores.shape == visible.shape
    valid = enc['keypoint_weights'] == 1
    err = np.abs(decoded - keypoints)[valid]
    assert np.all(err <= 0.5 / codec.split_ratio + F32_TOL)
    # (invisible keypoints have all -inf logits here: no softmax exists)
    assert np.all((scores[valid] >= 0) & (scores[valid] <= 1))
    with np.errstate(invalid='ignore'):
        kp_t, _ = codec.decode_torch(torch.from_numpy(x), torch.from_numpy(y))
    np.testing.assert_allclose(
        kp_t.numpy()[valid], decoded[valid], atol=F32_TOL)


@PROPERTY
@given(
    size=sizes,
    split_ratio=split_ratios,
    sigma=sigmas,
    seed=st.integers(0, 2**32 - 1))
def test_sa_simdr_refined_round_trip_is_exact(size, split_ratio, sigma, seed):
    """The parabola step is exact on log-Gaussians wherever the argmax has
    two neighbours: float32 labels leave 3 eps sigma^2 < 1e-5 bins."""
    codec = KEYPOINT_CODECS.build(
        dict(
            type='SASimDRLabel',
            input_size=size,
            split_ratio=split_ratio,
            sigma=sigma,
            decode_refine=True))
    rng = np.random.default_rng(seed)
    keypoints = rng.random((2, 8, 2)) * np.array(size)
    _, _, decoded, scores = decode_log_labels(codec, codec.encode(keypoints))
    bins = np.floor(keypoints * split_ratio + 0.5)
    interior = ((bins > 0) & (bins < np.array(codec.num_bins) - 1)).all(-1)
    assert interior.any()
    assert np.all(np.abs(decoded - keypoints)[interior] < F32_TOL)
    assert np.all(scores[interior] >= np.exp(-1 / (8 * sigma**2)) - 1e-6)


@PROPERTY
@given(sample=encoded_sets(dark_codecs()))
def test_dark_heatmap_encode_properties(sample):
    codec, keypoints, visible, enc = sample
    width, height = codec.heatmap_size
    heatmaps = enc['heatmaps']
    assert heatmaps.shape == (keypoints.shape[1], height, width)
    assert heatmaps.dtype == np.float32
    assert np.all(np.isfinite(heatmaps))
    assert np.all((heatmaps >= 0) & (heatmaps <= 1))
    expected = expected_weights(keypoints, visible, (width, height),
                                1 / codec.scale_factor)
    np.testing.assert_array_equal(enc['keypoint_weights'], expected)
    # a keypoint without any weighted instance leaves its heatmap empty
    unused = expected.sum(0) == 0
    assert not heatmaps[unused].any()
    assert np.all(heatmaps[~unused].max((1, 2)) > 0)


@PROPERTY
@given(sample=encoded_sets(dark_codecs(), instances=1))
def test_dark_heatmap_argmax_round_trip_single_instance(sample):
    """One instance: the argmax is round(g'), error <= lambda / 2."""
    codec, keypoints, visible, enc = sample
    argmax = KEYPOINT_CODECS.build(
        dict(
            type='DarkHeatmap',
            input_size=codec.input_size,
            heatmap_size=codec.heatmap_size,
            decode_mode='argmax'))
    decoded, scores = argmax.decode(enc['heatmaps'])
    valid = enc['keypoint_weights'] == 1
    err = np.abs(decoded - keypoints)[valid]
    assert np.all(err <= codec.scale_factor / 2 + F32_TOL)
    assert np.all(scores[valid] > 0)


@PROPERTY
@given(data=st.data())
def test_dark_heatmap_decodes_any_map_like_its_torch_twin(data):
    codec = data.draw(dark_codecs())
    width, height = codec.heatmap_size
    n, k = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 4))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    maps = rng.normal(size=(n, k, height, width)).astype(np.float32)
    decoded, scores = codec.decode(maps)
    assert decoded.shape == (n, k, 2) and scores.shape == (n, k)
    assert np.all(np.isfinite(decoded))
    lam = codec.scale_factor
    # argmax (+ 1/4 px) lies within half a pixel of the map, or at -1;
    # DARK's step is clipped and its result clamped to the same range
    inside = (
        (decoded >= -lam / 2 - F32_TOL) &
        (decoded <= (np.array([width, height]) - 0.5) * lam + F32_TOL))
    assert np.all(inside.all(-1) | (scores <= 0))
    kp_t, sc_t = codec.decode_torch(torch.from_numpy(maps))
    np.testing.assert_allclose(kp_t.numpy(), decoded, atol=1e-4 * lam.max())
    np.testing.assert_array_equal(sc_t.numpy(), scores)
