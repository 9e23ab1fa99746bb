# Copyright (c) simdr_ext contributors. All rights reserved.
"""Codec options ``keypoint_score``, ``score_scale`` and ``off_crop``
against the formulas of their sources, transcribed below with the file and
lines they come from:

- mmpose 1.3.2 ``mmpose/codecs/utils/post_processing.py``
  get_simcc_maximum l.90-99 and ``mmpose/codecs/simcc_label.py`` decode
  l.174-191 (raw-logit scores, bin -1 for a maximum <= 0);
- SimCC (leeyegy/SimCC aa6e089) ``lib/dataset/JointsDataset.py``
  generate_sa_simdr l.221-258 and adjust_target_weight l.377-389;
- DarkPose ``lib/dataset/JointsDataset.py`` generate_target l.239-280 and
  adjust_target_weight l.283-295.
"""
import json
import math
import os.path as osp

import numpy as np
import pytest
import torch

from mmpose.codecs.utils.post_processing import get_simcc_maximum
from mmpose.registry import KEYPOINT_CODECS

COCO = osp.join(
    osp.dirname(osp.dirname(osp.abspath(__file__))), 'data', 'coco')


def mmpose_logit_decode(simcc_x, simcc_y, k):
    """mmpose 1.3.2 get_simcc_maximum l.90-99 (argmax, amax, min by
    ``x > y``, bin -1 where the score <= 0), then simcc_label.py l.191
    (``/ k``), transcribed."""
    n, kk, _ = simcc_x.shape
    x, y = simcc_x.reshape(n * kk, -1), simcc_y.reshape(n * kk, -1)
    locs = np.stack((np.argmax(x, 1), np.argmax(y, 1)),
                    -1).astype(np.float32)
    vx, vy = np.amax(x, 1), np.amax(y, 1)
    mask = vx > vy
    vx[mask] = vy[mask]
    locs[vx <= 0.] = -1
    return (locs.reshape(n, kk, 2) / k), vx.reshape(n, kk)


def mixed_logits(rng, shape):
    """Logits whose maxima have both signs (some exactly 0)."""
    logits = rng.normal(size=shape).astype(np.float32)
    logits -= rng.uniform(-1.0, 4.0, size=shape[:-1] + (1, )).astype(
        np.float32)
    logits[0, 0] = 0.0  # a maximum of exactly 0: mmpose's rule is <= 0
    return logits


@pytest.mark.parametrize('codec_type', ['SimDRLabel', 'SASimDRLabel'])
@pytest.mark.parametrize('k', [2.0, 1.5])
def test_logit_scores_match_mmpose(codec_type, k):
    codec = KEYPOINT_CODECS.build(
        dict(type=codec_type, input_size=(48, 64), split_ratio=k,
             keypoint_score='min', score_scale='logit'))
    rng = np.random.default_rng(0)
    wx, wy = codec.num_bins
    simcc_x = mixed_logits(rng, (3, 17, wx))
    simcc_y = mixed_logits(rng, (3, 17, wy))
    ref_kpts, ref_scores = mmpose_logit_decode(simcc_x.copy(),
                                               simcc_y.copy(), k)
    assert (ref_scores <= 0).any() and (ref_scores > 0).any()
    kpts, scores = codec.decode(simcc_x, simcc_y)
    np.testing.assert_array_equal(scores, ref_scores)
    np.testing.assert_array_equal(kpts, ref_kpts)
    # mmpose's own function agrees with the transcription
    locs, vals = get_simcc_maximum(simcc_x, simcc_y)
    np.testing.assert_array_equal(vals, scores)
    np.testing.assert_array_equal(locs / np.float32(k), kpts)
    tk, ts = codec.decode_torch(
        torch.from_numpy(simcc_x), torch.from_numpy(simcc_y))
    np.testing.assert_array_equal(ts.numpy(), scores)
    np.testing.assert_array_equal(tk.numpy(), kpts)


def test_logit_min_follows_mmpose_on_nan():
    """``x > y`` picks y, else x (l.96-97): a NaN y maximum keeps x."""
    codec = KEYPOINT_CODECS.build(
        dict(type='SimDRLabel', input_size=(4, 4), score_scale='logit'))
    x = np.array([[[0., 2., 1., 0., 0., 0., 0., 0.]]], np.float32)
    y = np.full((1, 1, 8), np.nan, np.float32)
    _, scores = codec.decode(x, y)
    _, ref = get_simcc_maximum(x, y)
    np.testing.assert_array_equal(scores, ref)
    assert scores[0, 0] == 2.0


@pytest.mark.parametrize('score_scale', ['probability', 'logit'])
def test_max_keypoint_score(score_scale):
    """SimCC lib/core/function.py validate_simdr l.351-352: the larger."""
    codec = KEYPOINT_CODECS.build(
        dict(type='SimDRLabel', input_size=(48, 64), keypoint_score='max',
             score_scale=score_scale))
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 5, 96)).astype(np.float32) + 1
    y = rng.normal(size=(2, 5, 128)).astype(np.float32) + 1
    _, scores = codec.decode(x, y)
    if score_scale == 'logit':
        ref = np.maximum(x.max(-1), y.max(-1))
    else:
        px, py = (torch.from_numpy(v).softmax(-1).amax(-1).numpy()
                  for v in (x, y))
        ref = np.where(px < py, py, px)
    np.testing.assert_allclose(scores, ref, rtol=1e-6)
    _, ts = codec.decode_torch(torch.from_numpy(x), torch.from_numpy(y))
    np.testing.assert_allclose(ts.numpy(), scores, rtol=1e-6)


def test_sasimdr_probability_scale_is_the_softmax_peak():
    codec = KEYPOINT_CODECS.build(
        dict(type='SASimDRLabel', input_size=(48, 64),
             score_scale='probability'))
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 5, 96)).astype(np.float32) * 3
    y = rng.normal(size=(2, 5, 128)).astype(np.float32) * 3
    _, scores = codec.decode(x, y)
    px, py = (torch.from_numpy(v).softmax(-1).amax(-1).numpy()
              for v in (x, y))
    np.testing.assert_allclose(scores, np.minimum(px, py), rtol=1e-6)


@pytest.mark.parametrize(
    'cfg,match',
    [(dict(type='SimDRLabel', score_scale='peak'), "score_scale='peak'"),
     (dict(type='SimDRLabel', keypoint_score='mean'),
      "keypoint_score='mean'"),
     (dict(type='SASimDRLabel', score_scale='softmax'),
      "score_scale='softmax'"),
     (dict(type='SASimDRLabel', off_crop='clip'), "off_crop='clip'"),
     (dict(type='SASimDRLabel', off_crop=None), 'off_crop=None'),
     (dict(type='DarkHeatmap', heatmap_size=(12, 16), off_crop='keep'),
      "off_crop='keep'")])
def test_unknown_option_values_are_refused(cfg, match):
    with pytest.raises(ValueError, match=match):
        KEYPOINT_CODECS.build(dict(cfg, input_size=(48, 64)))


def test_defaults_are_unchanged():
    simdr = KEYPOINT_CODECS.build(dict(type='SimDRLabel', input_size=(4, 4)))
    sa = KEYPOINT_CODECS.build(dict(type='SASimDRLabel', input_size=(4, 4),
                                    sigma=2.0))
    dark = KEYPOINT_CODECS.build(
        dict(type='DarkHeatmap', input_size=(8, 8), heatmap_size=(4, 4)))
    assert (simdr.keypoint_score, simdr.score_scale) == ('min',
                                                         'probability')
    assert (sa.keypoint_score, sa.score_scale, sa.off_crop) == ('min', 'peak',
                                                                'zero_weight')
    assert dark.off_crop == 'zero_weight'


def authors_sa_simdr(joints, joints_vis, image_size, k, sigma):
    """SimCC lib/dataset/JointsDataset.py generate_sa_simdr l.227-254 with
    adjust_target_weight l.377-389 (use_different_joints_weight off),
    transcribed: joints (K, 2) input pixels, joints_vis (K, )."""
    num = len(joints)
    target_weight = joints_vis.astype(np.float32).reshape(num, 1).copy()
    target_x = np.zeros((num, int(image_size[0] * k)), np.float32)
    target_y = np.zeros((num, int(image_size[1] * k)), np.float32)
    tmp_size = sigma * 3
    for j in range(num):
        mu_x, mu_y = joints[j][0], joints[j][1]
        ul = [int(mu_x - tmp_size), int(mu_y - tmp_size)]
        br = [int(mu_x + tmp_size + 1), int(mu_y + tmp_size + 1)]
        if ul[0] >= image_size[0] or ul[1] >= image_size[1] \
                or br[0] < 0 or br[1] < 0:
            target_weight[j] = 0
        if target_weight[j] == 0:
            continue
        mu_x, mu_y = joints[j][0] * k, joints[j][1] * k
        x = np.arange(0, int(image_size[0] * k), 1, np.float32)
        y = np.arange(0, int(image_size[1] * k), 1, np.float32)
        if target_weight[j] > 0.5:
            target_x[j] = np.exp(-((x - mu_x)**2) / (2 * sigma**2)) / (
                sigma * np.sqrt(np.pi * 2))
            target_y[j] = np.exp(-((y - mu_y)**2) / (2 * sigma**2)) / (
                sigma * np.sqrt(np.pi * 2))
    return target_x, target_y, target_weight[:, 0]


def authors_dark_target(joints, joints_vis, heatmap_size, sigma):
    """DarkPose lib/dataset/JointsDataset.py generate_target l.245-275 with
    adjust_target_weight l.283-295, transcribed: joints (K, 2) heatmap
    pixels."""
    num = len(joints)
    target_weight = joints_vis.astype(np.float32).reshape(num, 1).copy()
    target = np.zeros((num, heatmap_size[1], heatmap_size[0]), np.float32)
    tmp_size = sigma * 3
    for j in range(num):
        mu_x, mu_y = joints[j][0], joints[j][1]
        ul = [int(mu_x - tmp_size), int(mu_y - tmp_size)]
        br = [int(mu_x + tmp_size + 1), int(mu_y + tmp_size + 1)]
        if ul[0] >= heatmap_size[0] or ul[1] >= heatmap_size[1] \
                or br[0] < 0 or br[1] < 0:
            target_weight[j] = 0
        if target_weight[j] == 0:
            continue
        x = np.arange(0, heatmap_size[0], 1, np.float32)
        y = np.arange(0, heatmap_size[1], 1, np.float32)[:, np.newaxis]
        if target_weight[j] > 0.5:
            target[j] = np.exp(-((x - mu_x)**2 + (y - mu_y)**2) /
                               (2 * sigma**2))
    return target, target_weight[:, 0]


def margin_probe(size, margin, rng, n=300):
    """Coordinates (n, 2) near and beyond both ends of a (w, h) crop, the
    rule's integer edges included."""
    w, h = size
    edges = np.array([-margin - 2, -margin - 1.5, -margin - 1, 0, w - 1,
                      w + margin - 1, w + margin, w + margin + 0.5])
    xs = np.concatenate([rng.uniform(-margin - 4, w + margin + 4, n - 8),
                         edges])
    ys = rng.uniform(-margin - 4, h + margin + 4, n)
    ys[:8] = h / 2  # the edges of x alone
    return np.stack([xs, ys], -1)


def coco_people_in_a_crop(input_size):
    """Labelled keypoints (N, 17, 2) of test_coco.json's people, mapped
    into a crop of ``input_size`` of the top 60 % of each person's box, and
    their visibility (N, 17): legs fall below the crop."""
    anns = json.load(open(osp.join(COCO, 'test_coco.json')))['annotations']
    kpts, vis = [], []
    for ann in anns:
        x0, y0, bw, bh = ann['bbox']
        kp = np.array(ann['keypoints'], np.float64).reshape(-1, 3)
        if kp[:, 2].sum() == 0 or bw < 1 or bh < 1:
            continue
        scale = np.array(input_size) / np.array([bw, bh * 0.6])
        kpts.append((kp[:, :2] - [x0, y0]) * scale)
        vis.append((kp[:, 2] > 0).astype(np.float32))
    return np.stack(kpts), np.stack(vis)


@pytest.mark.parametrize('k,sigma', [(2.0, 6.0), (3.0, 4.0), (1.5, 2.0)])
def test_truncated_sasimdr_labels_match_generate_sa_simdr(k, sigma):
    size = (48, 64)
    codec = KEYPOINT_CODECS.build(
        dict(type='SASimDRLabel', input_size=size, split_ratio=k,
             sigma=sigma, off_crop='truncated'))
    rng = np.random.default_rng(3)
    joints = margin_probe(size, 3 * sigma, rng)
    vis = (rng.random(len(joints)) > 0.1).astype(np.float32)
    ref_x, ref_y, ref_w = authors_sa_simdr(joints, vis, size, k, sigma)
    enc = codec.encode(joints[None], vis[None])
    np.testing.assert_array_equal(enc['keypoint_weights'][0], ref_w)
    np.testing.assert_allclose(enc['keypoint_x_labels'][0], ref_x,
                               atol=1e-6)
    np.testing.assert_allclose(enc['keypoint_y_labels'][0], ref_y,
                               atol=1e-6)
    # off-crop keypoints are kept: the option changes something
    off = ((joints < 0) | (joints >= size)).any(-1) & (ref_w > 0)
    assert off.sum() > 20


def test_truncated_sasimdr_on_bundled_coco_keypoints():
    size, k, sigma = (192, 256), 2.0, 6.0
    joints, vis = coco_people_in_a_crop(size)
    codec = KEYPOINT_CODECS.build(
        dict(type='SASimDRLabel', input_size=size, split_ratio=k,
             sigma=sigma, off_crop='truncated'))
    enc = codec.encode(joints, vis)
    below = (joints[..., 1] >= size[1]) & (vis > 0)
    assert below.any()
    for n in range(len(joints)):
        ref_x, ref_y, ref_w = authors_sa_simdr(joints[n], vis[n], size, k,
                                               sigma)
        np.testing.assert_array_equal(enc['keypoint_weights'][n], ref_w)
        np.testing.assert_allclose(enc['keypoint_x_labels'][n], ref_x,
                                   atol=1e-6)
        np.testing.assert_allclose(enc['keypoint_y_labels'][n], ref_y,
                                   atol=1e-6)
    # the default gives those keypoints weight 0
    default = KEYPOINT_CODECS.build(
        dict(type='SASimDRLabel', input_size=size, split_ratio=k,
             sigma=sigma)).encode(joints, vis)
    assert (default['keypoint_weights'][below] == 0).all()
    assert (enc['keypoint_weights'] >= default['keypoint_weights']).all()


def test_truncated_round_center_rounds_off_crop_centres():
    codec = KEYPOINT_CODECS.build(
        dict(type='SASimDRLabel', input_size=(48, 64), sigma=4.0,
             normalize=False, round_center=True, off_crop='truncated'))
    enc = codec.encode(np.array([[[-3.3, 70.2]]]), np.ones((1, 1)))
    assert enc['keypoint_weights'][0, 0] == 1
    # x k = -6.6 -> bin -7 (off the axis): bin 0 holds exp(-49 / 32)
    assert enc['keypoint_x_labels'][0, 0, 0] == pytest.approx(
        math.exp(-49 / 32), rel=1e-6)
    # y k = 140.4 -> bin 140 beyond 127: bin 127 holds exp(-169 / 32)
    assert enc['keypoint_y_labels'][0, 0, -1] == pytest.approx(
        math.exp(-169 / 32), rel=1e-6)


@pytest.mark.parametrize('sigma', [2.0, 3.0])
def test_truncated_dark_heatmaps_match_darkpose_generate_target(sigma):
    input_size, heatmap_size = (192, 256), (48, 64)
    codec = KEYPOINT_CODECS.build(
        dict(type='DarkHeatmap', input_size=input_size,
             heatmap_size=heatmap_size, sigma=sigma, off_crop='truncated'))
    rng = np.random.default_rng(4)
    joints = margin_probe(heatmap_size, 3 * sigma, rng, n=60)
    vis = (rng.random(len(joints)) > 0.1).astype(np.float32)
    ref, ref_w = authors_dark_target(joints, vis, heatmap_size, sigma)
    enc = codec.encode(joints[None] * 4, vis[None])
    np.testing.assert_array_equal(enc['keypoint_weights'][0], ref_w)
    # one keypoint per instance: the per-keypoint max over 1 instance
    np.testing.assert_allclose(enc['heatmaps'], ref, atol=1e-6)
    off = ((joints < 0) | (joints >= heatmap_size)).any(-1) & (ref_w > 0)
    assert off.sum() > 5


def test_truncated_dark_heatmaps_on_bundled_coco_keypoints():
    input_size, heatmap_size, sigma = (192, 256), (48, 64), 2.0
    joints, vis = coco_people_in_a_crop(input_size)
    codec = KEYPOINT_CODECS.build(
        dict(type='DarkHeatmap', input_size=input_size,
             heatmap_size=heatmap_size, sigma=sigma, off_crop='truncated'))
    for n in range(len(joints)):
        ref, ref_w = authors_dark_target(joints[n] / 4, vis[n],
                                         heatmap_size, sigma)
        enc = codec.encode(joints[n][None], vis[n][None])
        np.testing.assert_array_equal(enc['keypoint_weights'][0], ref_w)
        np.testing.assert_allclose(enc['heatmaps'], ref, atol=1e-6)


def test_margin_rule_is_asymmetric_in_input_pixels():
    """int() truncates toward zero (SimCC JointsDataset.py l.382-385): a
    keypoint is kept for -3 sigma - 2 < x < w + 3 sigma, in input pixels
    even though sigma is in bins."""
    codec = KEYPOINT_CODECS.build(
        dict(type='SASimDRLabel', input_size=(48, 64), split_ratio=2.0,
             sigma=2.0, off_crop='truncated'))
    xs = np.array([-8.0, -7.99, 53.99, 54.0, np.nan, np.inf])
    kp = np.stack([xs, np.full_like(xs, 30.0)], -1)[None]
    w = codec.encode(kp, np.ones((1, len(xs))))['keypoint_weights'][0]
    np.testing.assert_array_equal(w, [0, 1, 1, 0, 0, 0])
