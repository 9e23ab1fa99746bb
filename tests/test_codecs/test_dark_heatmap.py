# Copyright (c) simdr_ext contributors. All rights reserved.
import cv2
import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData

from mmpose.codecs import MSRAHeatmap
from mmpose.codecs.utils.gaussian_heatmap import (
    generate_gaussian_heatmaps, generate_unbiased_gaussian_heatmaps)
from mmpose.codecs.utils.post_processing import gaussian_blur
from mmpose.codecs.utils.refinement import (refine_keypoints,
                                            refine_keypoints_dark)
from mmpose.datasets.transforms import GenerateTarget, PackPoseInputs
from mmpose.registry import KEYPOINT_CODECS, MODELS
from mmpose.structures import PoseDataSample
from simdr_ext.codecs.utils import (gaussian_heatmaps, gaussian_kernel_1d,
                                    heatmap_argmax, kernel_sigma, refine_dark,
                                    refine_shift)
from tools.analysis.dark_decoding_table import (modulate_heatmaps,
                                                refine_dark_full)

INPUT_SIZE, HEATMAP_SIZE = (48, 64), (12, 16)  # lambda = 4 on both axes
SMALL_CODEC = dict(
    type='DarkHeatmap',
    input_size=INPUT_SIZE,
    heatmap_size=HEATMAP_SIZE,
    sigma=1.0,
    blur_kernel_size=5)  # kernel_sigma(5) is about 1
LAMBDA = 4.0
# float32 output of a coordinate below 512 px is exact to 512 * 2**-24 < 1e-4
F32_TOL = 1e-4


def build(**kwargs):
    cfg = dict(
        type='DarkHeatmap',
        input_size=(192, 256),
        heatmap_size=(48, 64),
        sigma=2.0)
    cfg.update(kwargs)
    return KEYPOINT_CODECS.build(cfg)


def random_keypoints(rng, n, k, size, margin=0.1):
    """Sub-pixel keypoints inside [margin, 1 - margin] of the input."""
    frac = margin + (1 - 2 * margin) * rng.random((n, k, 2))
    return frac * np.array(size, dtype=np.float64)


def noisy_gaussians(rng, n, k, noise, size=(48, 64), sigma=2.0, margin=0.2):
    """Unbiased Gaussians at sub-pixel centres, plus uniform noise."""
    centres = random_keypoints(rng, n, k, size, margin)
    maps = np.stack([
        gaussian_heatmaps(c[None], np.ones((1, k)), size, sigma)
        for c in centres
    ])
    return maps + noise * rng.random(maps.shape), centres


def test_encode_shapes_and_mapping_tables_match_msra_heatmap():
    codec = build()
    enc = codec.encode(
        random_keypoints(np.random.default_rng(0), 1, 17, codec.input_size))
    assert enc['heatmaps'].shape == (17, 64, 48)
    assert enc['keypoint_weights'].shape == (1, 17)
    assert enc['heatmaps'].dtype == enc['keypoint_weights'].dtype == \
        np.float32
    assert codec.field_mapping_table == MSRAHeatmap.field_mapping_table
    assert codec.label_mapping_table == MSRAHeatmap.label_mapping_table


def test_unbiased_encoding_equals_mmpose():
    """DARK eq. (14) with the unquantised g' = g / lambda of eq. (12)."""
    codec = build()
    kp = random_keypoints(np.random.default_rng(1), 1, 5, codec.input_size)
    ours = codec.encode(kp)['heatmaps']
    ref, _ = generate_unbiased_gaussian_heatmaps((48, 64), kp / LAMBDA,
                                                 np.ones((1, 5)), 2.0)
    np.testing.assert_allclose(ours, ref, atol=1e-6)


def test_biased_encoding_peaks_at_rounded_centre():
    """DARK eq. (13)-(14): mmpose's patch is cut at 3 sigma, ours is not."""
    codec = build(unbiased=False)
    kp = random_keypoints(np.random.default_rng(2), 1, 5, codec.input_size)
    ours = codec.encode(kp)['heatmaps']
    centres = np.floor(kp[0] / LAMBDA + 0.5).astype(int)
    for k, (x, y) in enumerate(centres):
        assert ours[k, y, x] == 1.0
    ref, _ = generate_gaussian_heatmaps((48, 64), kp / LAMBDA, np.ones((1, 5)),
                                        2.0)
    inside = ref > 0
    np.testing.assert_allclose(ours[inside], ref[inside], atol=1e-6)
    # beyond 3 sigma on one axis the Gaussian is below exp(-9 / 2)
    assert np.abs(ours - ref).max() <= np.exp(-4.5)


def test_multi_instance_heatmaps_are_per_keypoint_max():
    codec = build()
    kp = random_keypoints(np.random.default_rng(3), 3, 4, codec.input_size)
    enc = codec.encode(kp)
    singles = [codec.encode(kp[i:i + 1])['heatmaps'] for i in range(3)]
    np.testing.assert_array_equal(enc['heatmaps'], np.max(singles, 0))
    assert enc['keypoint_weights'].shape == (3, 4)
    empty = codec.encode(np.zeros((0, 4, 2)))
    assert empty['heatmaps'].shape == (4, 64, 48)
    assert not empty['heatmaps'].any()
    assert empty['keypoint_weights'].shape == (0, 4)


def test_invisible_off_map_and_nan_keypoints_get_zero_weight():
    codec = build()
    # heatmap px = input px / 4; round(g') must lie in [0, 47] x [0, 63]
    keypoints = np.array([[[40.0, 40.0], [40.0, 40.0], [-2.5, 40.0],
                           [-1.5, 40.0], [40.0, 254.0], [40.0, 253.9],
                           [np.nan, 5.0], [np.inf, 1.0], [-1e9, 1e9]]])
    visible = np.array([[1, 0, 1, 1, 1, 1, 1, 1, 1]], dtype=np.float32)
    enc = codec.encode(keypoints, visible)
    # -2.5 / 4 = -0.625 rounds to -1 (off), -1.5 / 4 to 0 (on the map),
    # 254 / 4 = 63.5 rounds to 64 (off), 253.9 / 4 to 63 (on)
    np.testing.assert_array_equal(enc['keypoint_weights'],
                                  [[1, 0, 0, 1, 0, 1, 0, 0, 0]])
    zero = enc['keypoint_weights'][0] == 0
    assert not enc['heatmaps'][zero].any()
    assert np.all(np.isfinite(enc['heatmaps']))


def test_argmax_error_below_half_lambda_on_the_target():
    """Argmax of a Gaussian sampled on integer pixels: the nearest pixel."""
    codec = build(decode_mode='argmax')
    rng = np.random.default_rng(4)
    kp = random_keypoints(rng, 1, 200, codec.input_size)
    decoded, scores = codec.decode(codec.encode(kp)['heatmaps'])
    err = np.abs(decoded - kp)
    assert err.max() < LAMBDA / 2 + F32_TOL
    assert err.max() > 0.45 * LAMBDA  # tight
    assert decoded.shape == (1, 200, 2) and scores.shape == (1, 200)


@pytest.mark.parametrize('kernel_size', [7, 11])
def test_dark_recovers_sub_pixel_centre_of_unbiased_gaussian(kernel_size):
    codec = build(blur_kernel_size=kernel_size)
    rng = np.random.default_rng(5)
    kp = random_keypoints(rng, 1, 200, codec.input_size, margin=0.2)
    decoded, scores = codec.decode(codec.encode(kp)['heatmaps'])
    # log of a Gaussian is a parabola, on which the stencils are exact; the
    # blur keeps it Gaussian up to sampling, so the error is far below 0.05
    assert np.abs(decoded - kp).max() / LAMBDA < 0.05
    assert scores.min() > np.exp(-0.25)  # peak value >= exp(-0.5^2/(2*2^2))


def test_noisy_heatmaps_dark_beats_shift_beats_argmax():
    """DARK Table 1 order: mean error DARK < standard shift < argmax."""
    rng = np.random.default_rng(6)
    maps, centres = noisy_gaussians(rng, 20, 17, noise=0.1)
    errors = {}
    for mode in ('argmax', 'shift', 'dark'):
        codec = build(
            decode_mode=mode, input_size=(48, 64), heatmap_size=(48, 64))
        decoded, _ = codec.decode(maps)
        errors[mode] = np.linalg.norm(decoded - centres, axis=-1).mean()
    assert errors['dark'] < errors['shift'] < errors['argmax'], errors


@pytest.mark.parametrize('kernel_size', [1, 3, 7, 9, 11, 17])
def test_windowed_dark_equals_full_map_reference(kernel_size):
    rng = np.random.default_rng(7)
    uniform = rng.random((6, 17, 16, 12))  # argmax anywhere, borders too
    peaked, _ = noisy_gaussians(
        rng, 6, 17, 0.2, size=(12, 16), sigma=1.5, margin=0.0)
    signed = rng.normal(size=(6, 17, 16, 12))  # negatives: clamped at EPS
    for maps in (uniform, peaked, signed):
        locs, _ = heatmap_argmax(maps)
        windowed = refine_dark(maps, locs, kernel_size)
        full = refine_dark_full(maps, locs, kernel_size)
        np.testing.assert_allclose(windowed, full, atol=1e-4)
        assert np.any(np.abs(windowed - locs) > 0.01)  # it did refine


def test_windowed_dark_equals_mmpose_refine_keypoints_dark():
    """Interior keypoints (blur patch inside the map) of clean maps: the
    same computation as mmpose's refine_keypoints_dark. mmpose clamps at
    1e-10 after its rescale, we before; equal for these positive maps. The
    border and the step rule, where the two differ, are tested in
    test_dark_refinement.py."""
    rng = np.random.default_rng(8)
    # centres in [8, 39] x [8, 55]: argmax >= 7 px (kernel 11 radius + 2)
    # from the border of the 48 x 64 map
    kp = 8 + (np.array([48, 64]) - 17) * rng.random((1, 17, 2))
    maps, _ = generate_unbiased_gaussian_heatmaps((48, 64), kp,
                                                  np.ones((1, 17)), 2.0)
    locs, _ = heatmap_argmax(maps)
    assert ((locs >= 7) & (locs <= [40, 56])).all()
    ours = refine_dark(maps, locs, 11)
    ref = refine_keypoints_dark(
        locs[None].astype(np.float32), maps.copy(), blur_kernel_size=11)[0]
    # float32 maps: mmpose blurs and takes logs in float32 (~1e-7 relative)
    np.testing.assert_allclose(ours, ref, atol=1e-4)
    assert np.abs(ours - locs).max() > 0.1  # it did refine
    np.testing.assert_allclose(ours, kp[0], atol=1e-3)


def test_shift_equals_mmpose_refine_keypoints():
    rng = np.random.default_rng(9)
    maps = rng.random((40, 16, 12)).astype(np.float32)
    locs, _ = heatmap_argmax(maps)
    ref = refine_keypoints(locs[None].astype(np.float32), maps)[0]
    ours = refine_shift(maps, locs)
    # mmpose skips the x step at x == 1 or y == 0 (and the y step at
    # y == 1 or x == 0), where both neighbours exist; we do not
    same = (locs > 1).all(-1)
    assert same.sum() > 20
    np.testing.assert_array_equal(ours[same], ref[same])


def test_modulation_equals_mmpose_gaussian_blur():
    rng = np.random.default_rng(10)
    maps = rng.random((5, 16, 12)).astype(np.float32)
    for ks in (3, 9, 11):
        ours = modulate_heatmaps(maps, ks)
        ref = gaussian_blur(maps.copy(), ks)
        np.testing.assert_allclose(ours, ref, rtol=1e-5)


@pytest.mark.parametrize('kernel_size', list(range(1, 23, 2)))
def test_kernel_equals_cv2(kernel_size):
    ref = cv2.getGaussianKernel(kernel_size, 0)[:, 0]
    np.testing.assert_allclose(
        gaussian_kernel_1d(kernel_size), ref, atol=1e-12)


def test_kernel_sigma_formula():
    # 0.3 * ((ks - 1) * 0.5 - 1) + 0.8: ks 11 -> 2, 17 -> 2.9, 3 -> 0.8
    assert kernel_sigma(11) == pytest.approx(2.0)
    assert kernel_sigma(17) == pytest.approx(2.9)
    assert kernel_sigma(3) == pytest.approx(0.8)


def test_rescale_of_eq11_does_not_move_dark():
    """log(a h) = log a + log h: a pure scale changes no derivative."""
    rng = np.random.default_rng(11)
    maps, _ = noisy_gaussians(rng, 2, 17, noise=0.1)
    codec = build(input_size=(48, 64), heatmap_size=(48, 64))
    kp, scores = codec.decode(maps)
    kp_scaled, scores_scaled = codec.decode(maps * 3.7)
    np.testing.assert_allclose(kp_scaled, kp, atol=1e-5)
    np.testing.assert_allclose(scores_scaled, 3.7 * scores, rtol=1e-6)


def test_non_positive_maximum_decodes_to_minus_lambda():
    codec = build()
    maps = np.zeros((3, 64, 48), dtype=np.float32)
    maps[1] = -1.0
    maps[2, 30, 20] = 0.5
    kp, scores = codec.decode(maps)
    np.testing.assert_allclose(kp[0, :2], -LAMBDA)  # as mmpose: -1 * scale
    np.testing.assert_allclose(scores[0], [0.0, -1.0, 0.5])
    np.testing.assert_allclose(kp[0, 2], [80.0, 120.0], atol=1e-3)


@pytest.mark.parametrize('mode', ['argmax', 'shift', 'dark'])
def test_torch_decoder_matches_numpy(mode):
    codec = build(
        decode_mode=mode, input_size=INPUT_SIZE, heatmap_size=HEATMAP_SIZE)
    rng = np.random.default_rng(12)
    maps = rng.normal(size=(4, 17, 16, 12)).astype(np.float32)
    maps[0, 0] = 0  # argmax at (0, 0), max 0: the -1 location
    kp_np, sc_np = codec.decode(maps)
    kp_t, sc_t = codec.decode_torch(torch.from_numpy(maps))
    np.testing.assert_allclose(kp_t.numpy(), kp_np, atol=1e-4 * LAMBDA)
    np.testing.assert_array_equal(sc_t.numpy(), sc_np)
    single, _ = codec.decode_torch(torch.from_numpy(maps[1]))
    np.testing.assert_allclose(single.numpy(), kp_np[1:2], atol=4e-4)
    kps, scs = codec.batch_decode(torch.from_numpy(maps))
    assert len(kps) == 4 and kps[0].shape == (1, 17, 2)
    assert scs[0].shape == (1, 17)
    np.testing.assert_allclose(np.concatenate(kps), kp_np, atol=4e-4)


def test_decode_takes_khw_and_nkhw():
    codec = build(input_size=INPUT_SIZE, heatmap_size=HEATMAP_SIZE)
    maps = np.random.default_rng(13).random((2, 5, 16, 12))
    kp1, sc1 = codec.decode(maps[0])
    kp2, sc2 = codec.decode(maps)
    assert kp1.shape == (1, 5, 2) and sc1.shape == (1, 5)
    assert kp2.shape == (2, 5, 2) and sc2.shape == (2, 5)
    np.testing.assert_array_equal(kp1[0], kp2[0])
    with pytest.raises(ValueError, match='DarkHeatmap expects heatmaps'):
        codec.decode(maps[..., :10])


@pytest.mark.parametrize(
    'kwargs,match', [
        (dict(sigma=0.0), 'sigma'),
        (dict(sigma=-2.0), 'sigma'),
        (dict(blur_kernel_size=10), 'blur_kernel_size'),
        (dict(blur_kernel_size=0), 'blur_kernel_size'),
        (dict(blur_kernel_size=11.0), 'blur_kernel_size'),
        (dict(decode_mode='udp'), 'decode_mode'),
        (dict(heatmap_size=(256, 192)), 'heatmap_size'),
        (dict(heatmap_size=(48, )), 'heatmap_size'),
        (dict(input_size=(192, -256)), 'input_size'),
    ],
    ids=[
        'sigma=0', 'sigma<0', 'even-kernel', 'zero-kernel', 'float-kernel',
        'bad-mode', 'heatmap>input', 'one-dim', 'negative-h'
    ])
def test_invalid_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=f'^DarkHeatmap got {match}'):
        build(**kwargs)


def test_generate_target_and_pack_pose_inputs():
    transform = GenerateTarget(encoder=SMALL_CODEC)
    kp = np.array([[[10.0, 20.0], [30.5, 41.2], [-30.0, 5.0]]])
    results = transform(
        dict(
            img=np.zeros((64, 48, 3), np.uint8),
            keypoints=kp,
            keypoints_visible=np.ones((1, 3), np.float32)))
    assert results['heatmaps'].shape == (3, 16, 12)
    np.testing.assert_array_equal(results['keypoint_weights'], [[1, 1, 0]])
    packed = PackPoseInputs()(results)
    sample = packed['data_samples']
    assert tuple(sample.gt_fields.heatmaps.shape) == (3, 16, 12)
    assert tuple(sample.gt_instance_labels.keypoint_weights.shape) == (1, 3)


def head_and_samples(batch=2, k=5):
    head = MODELS.build(
        dict(
            type='HeatmapHead',
            in_channels=8,
            out_channels=k,
            deconv_out_channels=(8, ),
            deconv_kernel_sizes=(4, ),
            decoder=SMALL_CODEC))
    transform = GenerateTarget(encoder=SMALL_CODEC)
    rng = np.random.default_rng(14)
    samples = []
    for _ in range(batch):
        results = transform(
            dict(
                img=np.zeros((64, 48, 3), np.uint8),
                keypoints=random_keypoints(rng, 1, k, INPUT_SIZE),
                keypoints_visible=np.ones((1, k), np.float32)))
        sample = PackPoseInputs()(results)['data_samples']
        sample.set_metainfo(dict(flip_indices=[0, 2, 1, 4, 3]))
        samples.append(sample)
    return head, samples


@pytest.mark.parametrize('flip_test', [False, True], ids=['plain', 'flip'])
def test_heatmap_head_predict(flip_test):
    head, samples = head_and_samples()
    assert head.decoder.support_batch_decoding
    feats = (torch.randn(2, 8, 8, 6), )
    test_cfg = dict(
        flip_test=flip_test, flip_mode='heatmap', shift_heatmap=True)
    inputs = [feats, (feats[0].flip(-1), )] if flip_test else feats
    with torch.no_grad():
        preds = head.predict(inputs, samples, test_cfg=test_cfg)
    assert len(preds) == 2 and isinstance(preds[0], InstanceData)
    for pred in preds:
        assert pred.keypoints.shape == (1, 5, 2)
        assert pred.keypoint_scores.shape == (1, 5)
        assert np.all(np.isfinite(pred.keypoints))


def test_heatmap_head_loss_with_packed_targets():
    head, samples = head_and_samples()
    losses = head.loss((torch.randn(2, 8, 8, 6), ), samples)
    assert torch.isfinite(losses['loss_kpt'])
    losses['loss_kpt'].backward()
    assert isinstance(samples[0], PoseDataSample)
