# Copyright (c) simdr_ext contributors. All rights reserved.
"""Bad input to the SimDR codecs: a ValueError naming the codec, and numpy
and torch decoders that agree on every array (ints, inf, NaN included)."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import simdr_ext  # noqa: F401 (registers the codecs)
from mmpose.registry import KEYPOINT_CODECS

PROPERTY = settings(
    max_examples=150, deadline=None, derandomize=True, database=None)
INPUT_SIZE = (8, 6)  # (w, h): with k = 2, 16 x bins and 12 y bins
K = 2.0

CODECS = {
    'SimDRLabel':
    dict(type='SimDRLabel', input_size=INPUT_SIZE, split_ratio=K),
    'SASimDRLabel':
    dict(
        type='SASimDRLabel',
        input_size=INPUT_SIZE,
        split_ratio=K,
        sigma=2.0,
        decode_refine=False),
    'SASimDRLabel+refine':
    dict(
        type='SASimDRLabel',
        input_size=INPUT_SIZE,
        split_ratio=K,
        sigma=2.0,
        decode_refine=True),
}


def build(name):
    return KEYPOINT_CODECS.build(CODECS[name])


def owner(name):
    return name.split('+')[0]


@pytest.mark.parametrize('name', list(CODECS))
@pytest.mark.parametrize('torch_twin', [False, True], ids=['numpy', 'torch'])
def test_x_and_y_with_different_keypoint_counts_raise(name, torch_twin):
    codec = build(name)
    x = np.zeros((1, 17, 16), np.float32)
    y = np.zeros((1, 16, 12), np.float32)
    decode = codec.decode
    if torch_twin:
        x, y = torch.from_numpy(x), torch.from_numpy(y)
        decode = codec.decode_torch
    with pytest.raises(ValueError, match=f'{owner(name)}.*17.*16'):
        decode(x, y)


@pytest.mark.parametrize('name', list(CODECS))
@pytest.mark.parametrize(
    'shape', [(16, ), (1, 1, 1, 16)], ids=['1d', '4d'])
def test_vectors_of_the_wrong_rank_raise(name, shape):
    codec = build(name)
    x = np.zeros(shape, np.float32)
    y = np.zeros(shape[:-1] + (12, ), np.float32)
    with pytest.raises(ValueError, match=f'{owner(name)}.*\\(N, K, Wx\\)'):
        codec.decode(x, y)


@pytest.mark.parametrize('name', list(CODECS))
def test_tensors_given_to_the_numpy_decoder_raise(name):
    codec = build(name)
    x, y = torch.zeros(1, 17, 16), torch.zeros(1, 17, 12)
    with pytest.raises(ValueError, match=f'{owner(name)}.decode.*Tensor'):
        codec.decode(x, y)


@pytest.mark.parametrize('name', list(CODECS))
def test_arrays_given_to_the_torch_decoder_raise(name):
    codec = build(name)
    x, y = np.zeros((1, 17, 16)), np.zeros((1, 17, 12))
    with pytest.raises(ValueError, match=f'{owner(name)}.decode_torch'):
        codec.decode_torch(x, y)


@pytest.mark.parametrize('name', list(CODECS))
def test_logits_of_a_non_numeric_dtype_raise(name):
    codec = build(name)
    x = np.full((1, 1, 16), 'a')
    with pytest.raises(ValueError, match=f'{owner(name)}.*dtype'):
        codec.decode(x, np.zeros((1, 1, 12)))


def decode_both(codec, x, y):
    kp, sc = codec.decode(x, y)
    kp_t, sc_t = codec.decode_torch(torch.from_numpy(x), torch.from_numpy(y))
    return kp, sc, kp_t.numpy(), sc_t.numpy()


@pytest.mark.parametrize('name', list(CODECS))
def test_uint8_logits_decode_like_their_float_values(name):
    """A uint8 logit is the number it holds: 200 - 10 must not wrap."""
    codec = build(name)
    x = np.zeros((1, 1, 16), np.uint8)
    y = np.zeros((1, 1, 12), np.uint8)
    x[0, 0, [3, 7]] = (10, 200)
    y[0, 0, 4] = 250
    kp, sc, kp_t, sc_t = decode_both(codec, x, y)
    ref_kp, ref_sc = codec.decode(x.astype(np.float32), y.astype(np.float32))
    np.testing.assert_array_equal(kp, [[[7 / K, 4 / K]]])
    np.testing.assert_array_equal(kp, ref_kp)
    np.testing.assert_array_equal(kp_t, ref_kp)
    np.testing.assert_allclose(sc, ref_sc, rtol=1e-6)
    np.testing.assert_allclose(sc_t, ref_sc, rtol=1e-6)


@pytest.mark.parametrize('name', list(CODECS))
def test_an_inf_logit_is_the_keypoint_in_both_decoders(name):
    """+inf at one bin is a softmax of probability 1 there (the limit of a
    growing logit); -inf bins get probability 0."""
    codec = build(name)
    x = np.zeros((1, 2, 16), np.float32)
    y = np.zeros((1, 2, 12), np.float32)
    x[0, 0, 5] = np.inf
    x[0, 1, :] = -np.inf
    x[0, 1, 9] = 3.0
    y[0, :, 2] = np.inf
    kp, sc, kp_t, sc_t = decode_both(codec, x, y)
    np.testing.assert_array_equal(kp, [[[5 / K, 2 / K], [9 / K, 2 / K]]])
    np.testing.assert_array_equal(kp_t, kp)
    assert np.all(np.isfinite(sc)) and np.all(sc > 0)
    np.testing.assert_allclose(sc_t, sc, rtol=1e-6)
    if name == 'SimDRLabel':  # softmax peaks of exactly 1
        np.testing.assert_array_equal(sc, [[1.0, 1.0]])


# ---- the twins agree on every array hypothesis draws --------------------

DTYPES = st.sampled_from([
    np.float32, np.float64, np.float16, np.uint8, np.int8, np.int32,
    np.int64, np.bool_
])


def logits(dtype, length, n, k):
    shape = (n, k, length)
    if np.dtype(dtype).kind == 'f':
        elements = st.floats(
            allow_nan=True,
            allow_infinity=True,
            width=np.dtype(dtype).itemsize * 8)
        # mostly moderate values, with huge, tiny, inf and NaN ones
        elements = st.one_of(
            st.floats(-20, 20, width=np.dtype(dtype).itemsize * 8),
            elements)
    else:
        elements = None
    return hnp.arrays(dtype, shape, elements=elements)


@st.composite
def logit_pairs(draw):
    dtype = draw(DTYPES)
    n, k = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    return draw(logits(dtype, 16, n, k)), draw(logits(dtype, 12, n, k))


def working_length_tolerance(length):
    # scores are 1 / sum of L exp terms in float32: numpy and torch sum in
    # different orders, each within L * 2**-24 relative (recursive sum)
    return length * 2.0**-24


@pytest.mark.parametrize('name', list(CODECS))
@PROPERTY
@given(pair=logit_pairs())
def test_numpy_and_torch_decoders_agree_on_any_logits(name, pair):
    codec = build(name)
    x, y = pair
    kp, sc, kp_t, sc_t = decode_both(codec, x, y)
    assert kp.dtype == kp_t.dtype == np.float32
    assert sc.dtype == sc_t.dtype == np.float32
    assert kp.shape == kp_t.shape == x.shape[:2] + (2, )
    np.testing.assert_array_equal(kp_t, kp)
    np.testing.assert_allclose(
        sc_t, sc, rtol=working_length_tolerance(16), atol=0, equal_nan=True)
    finite = np.isfinite(x).all(-1) & np.isfinite(y).all(-1)
    assert np.all((sc[finite] > 0) & (sc[finite] <= 1))


# ---- arguments that cannot make a label ---------------------------------


@pytest.mark.parametrize(
    'sigma', [1e30, (2.0, 1e30), 17.0, (2.0, 13.0), 1e-30, 1e-200],
    ids=['huge', 'huge-y', 'wider-than-x', 'wider-than-y', 'tiny', 'tinier'])
def test_sa_simdr_sigma_outside_its_range_raises(sigma):
    """16 x bins and 12 y bins: a wider Gaussian is no location label; the
    peak probability of a 1e30-bin Gaussian would sum 1e31 terms, and
    1e-200 ** 2 underflows to 0 (a division by zero)."""
    cfg = dict(CODECS['SASimDRLabel'], sigma=sigma)
    with pytest.raises(ValueError, match='SASimDRLabel got sigma'):
        KEYPOINT_CODECS.build(cfg)


@pytest.mark.parametrize('sigma', [1e30, 17.0, 1e-30],
                         ids=['huge', 'wider-than-the-map', 'tiny'])
def test_dark_sigma_outside_its_range_raises(sigma):
    with pytest.raises(ValueError, match='DarkHeatmap got sigma'):
        KEYPOINT_CODECS.build(
            dict(
                type='DarkHeatmap',
                input_size=(48, 64),
                heatmap_size=(12, 16),
                sigma=sigma))


@pytest.mark.parametrize('name', list(CODECS))
def test_keypoints_of_a_non_numeric_dtype_raise(name):
    codec = build(name)
    with pytest.raises(ValueError, match=f'{owner(name)}.encode.*numbers'):
        codec.encode(np.array([[['a', 'b']]]))
