# Copyright (c) simdr_ext contributors. All rights reserved.
"""The SimDR authors' box samplers (SimCC lib/dataset/JointsDataset.py
l.74-117 and l.155-169) against the closed-form moments of their formulas.

Tolerances are ``Z = 5`` standard errors of the statistic over ``N``
draws (fixed seeds; a correct sampler fails with probability < 1e-6)."""
import math

import numpy as np
import pytest
from mmengine.registry import init_default_scope

from mmpose.registry import TRANSFORMS
from simdr_ext.datasets import (JointsDatasetBBoxTransform,
                                JointsDatasetHalfBody)

N = 100_000
Z = 5.0
SF, RF = 0.35, 45.0  # SimCC experiments/coco/hrnet/simdr/*.yaml l.21-22
UPPER = list(range(11))  # COCO upper body, SimCC lib/dataset/coco.py l.95


def phi(x):
    return math.exp(-x * x / 2) / math.sqrt(2 * math.pi)


def Phi(x):
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def clipped_normal_std(c):
    """std of clip(Z, -c, c), Z ~ N(0, 1): E[X^2] = (2 Phi(c) - 1)
    - 2 c phi(c) + 2 c^2 (1 - Phi(c)) (mass 1 - Phi(c) on each bound)."""
    return math.sqrt(2 * Phi(c) - 1 - 2 * c * phi(c) + 2 * c * c *
                     (1 - Phi(c)))


def truncated_normal_std(c):
    """std of Z ~ N(0, 1) conditioned on |Z| <= c (mmpose's truncnorm)."""
    return math.sqrt(1 - 2 * c * phi(c) / (2 * Phi(c) - 1))


def test_closed_forms():
    assert clipped_normal_std(1) == pytest.approx(0.7184, abs=1e-4)
    assert clipped_normal_std(2) == pytest.approx(0.9595, abs=1e-4)
    assert truncated_normal_std(1) == pytest.approx(0.5396, abs=1e-4)
    assert Phi(0.5) == pytest.approx(0.6915, abs=1e-4)


def proportion_ok(hits, p):
    """Observed frequency of ``hits`` (bool array) within Z SE of p."""
    se = math.sqrt(p * (1 - p) / hits.size)
    return abs(hits.mean() - p) <= Z * se


def std_ok(x, sigma):
    """Sample std within Z SE of sigma: SE(var) = sqrt((m4 - m2^2) / n),
    SE(std) = SE(var) / (2 sigma)."""
    d = x - x.mean()
    m2, m4 = np.mean(d**2), np.mean(d**4)
    se = math.sqrt((m4 - m2**2) / x.size) / (2 * sigma)
    return abs(math.sqrt(m2) - sigma) <= Z * se


def mean_ok(x, mu):
    return abs(x.mean() - mu) <= Z * x.std() / math.sqrt(x.size)


def authors_box_moments_ok(scale, rotation, sf, rf, prob=0.6):
    """JointsDataset.py l.167-169: scale clip(1 + sf z, 1 - sf, 1 + sf)
    (mean 1, std 0.7184 sf, P(1 + sf) = P(1 - sf) = 1 - Phi(1)); rotation
    with P = 0.6 clip(rf z, -2 rf, 2 rf) (mean 0, std 0.9595 rf,
    P(|r| = 2 rf | rotated) = 2 (1 - Phi(2)))."""
    rotated = rotation != 0
    r = rotation[rotated]
    checks = [
        mean_ok(scale, 1.0),
        std_ok(scale, clipped_normal_std(1) * sf),
        proportion_ok(np.isclose(scale, 1 + sf), 1 - Phi(1)),
        proportion_ok(np.isclose(scale, 1 - sf), 1 - Phi(1)),
        scale.min() >= 1 - sf - 1e-6 and scale.max() <= 1 + sf + 1e-6,
        proportion_ok(rotated, prob),
        mean_ok(r, 0.0),
        std_ok(r, clipped_normal_std(2) * rf),
        proportion_ok(np.isclose(np.abs(r), 2 * rf), 2 * (1 - Phi(2))),
        np.abs(r).max() <= 2 * rf + 1e-4,
    ]
    return all(checks), checks


def draw_boxes(transform, n=N, seed=0):
    np.random.seed(seed)
    results = transform(
        dict(bbox_center=np.zeros((n, 2), np.float32),
             bbox_scale=np.tile(np.float32([[100, 200]]), (n, 1))))
    factor = results['bbox_scale'] / np.float32([100, 200])
    return factor, np.asarray(results['bbox_rotation'], np.float64), results


@pytest.fixture(autouse=True)
def mmpose_scope():
    init_default_scope('mmpose')


def test_bbox_transform_matches_the_authors_moments():
    transform = TRANSFORMS.build(
        dict(type='JointsDatasetBBoxTransform', scale_factor=SF,
             rotate_factor=RF))
    factor, rotation, results = draw_boxes(transform)
    # one factor for both sides, the centre not moved, float32 layout
    assert np.array_equal(factor[:, 0], factor[:, 1])
    assert not results['bbox_center'].any()
    assert results['bbox_scale'].dtype == np.float32
    assert results['bbox_rotation'].shape == (N, )
    ok, checks = authors_box_moments_ok(factor[:, 0].astype(np.float64),
                                        rotation, SF, RF)
    assert ok, checks


def test_mmpose_sampler_fails_the_same_check():
    """mmpose's RandomBBoxTransform with the same range: a normal
    truncated at one sigma (std 0.5396 sf, no mass on the bounds,
    rotations within +-rf): the moment check rejects it."""
    theirs = TRANSFORMS.build(
        dict(type='RandomBBoxTransform', shift_prob=0.0,
             scale_factor=(1 - SF, 1 + SF), rotate_factor=RF))
    factor, rotation, _ = draw_boxes(theirs)
    scale = factor[:, 0].astype(np.float64)
    assert std_ok(scale, truncated_normal_std(1) * SF)
    ok, checks = authors_box_moments_ok(scale, rotation, SF, RF)
    assert not ok
    assert not checks[1]  # std 0.54 sf, not 0.72 sf
    assert not checks[2]  # no mass at 1 + sf


def test_bbox_transform_is_seeded_by_numpy_and_draws_in_order():
    transform = JointsDatasetBBoxTransform(SF, RF)
    a = draw_boxes(transform, 50, seed=3)
    b = draw_boxes(transform, 50, seed=3)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    # one box: randn (scale), rand (rotation test), randn (angle)
    np.random.seed(7)
    z1, u, z2 = np.random.randn(), np.random.rand(), np.random.randn()
    expected_rot = np.clip(z2 * RF, -2 * RF, 2 * RF) if u <= 0.6 else 0.0
    factor, rotation, _ = draw_boxes(transform, 1, seed=7)
    assert factor[0, 0] == pytest.approx(np.clip(z1 * SF + 1, 1 - SF,
                                                 1 + SF), rel=1e-6)
    assert rotation[0] == pytest.approx(expected_rot, rel=1e-6)


@pytest.mark.parametrize('kwargs', [
    dict(scale_factor=1.0), dict(scale_factor=-0.1),
    dict(rotate_factor=-1), dict(rotate_prob=1.5), dict(scale_factor='a')
])
def test_bbox_transform_refuses_bad_arguments(kwargs):
    with pytest.raises(ValueError, match='JointsDatasetBBoxTransform got'):
        JointsDatasetBBoxTransform(**kwargs)


def test_bbox_transform_refuses_a_bad_layout():
    with pytest.raises(ValueError, match=r'bbox_scale of shape \(N, 2\)'):
        JointsDatasetBBoxTransform()(dict(bbox_scale=np.ones(4)))


def person(n, visible_ids, seed=0):
    """``n`` instances of 17 random COCO keypoints, ``visible_ids``
    visible, in mmpose's layout."""
    rng = np.random.default_rng(seed)
    keypoints = rng.uniform(0, 300, (n, 17, 2)).astype(np.float32)
    visible = np.zeros((n, 17), np.float32)
    visible[:, list(visible_ids)] = 1
    return dict(keypoints=keypoints, keypoints_visible=visible,
                upper_body_ids=UPPER, lower_body_ids=list(range(11, 17)),
                bbox_center=np.full((n, 2), -1, np.float32),
                bbox_scale=np.full((n, 2), -1, np.float32))


def authors_half_body(joints, vis, upper_ids, aspect_ratio, z):
    """SimCC lib/dataset/JointsDataset.py half_body_transform l.74-117,
    transcribed with its normal draw ``z`` given: centre and scale in
    units of pixel_std 200."""
    upper = [joints[j] for j in range(len(joints))
             if vis[j] > 0 and j in upper_ids]
    lower = [joints[j] for j in range(len(joints))
             if vis[j] > 0 and j not in upper_ids]
    if z < 0.5 and len(upper) > 2:
        sel = upper
    else:
        sel = lower if len(lower) > 2 else upper
    if len(sel) < 2:
        return None, None
    sel = np.array(sel, dtype=np.float32)
    center = sel.mean(axis=0)[:2]
    w, h = np.amax(sel, axis=0) - np.amin(sel, axis=0)
    if w > aspect_ratio * h:
        h = w * 1.0 / aspect_ratio
    elif w < aspect_ratio * h:
        w = h * aspect_ratio
    return center, np.array([w / 200, h / 200], np.float32) * 1.5


def fix_aspect_ratio(scale, aspect_ratio):
    from mmpose.datasets.transforms import TopdownAffine
    return TopdownAffine._fix_aspect_ratio(scale, aspect_ratio)


@pytest.mark.parametrize('visible_ids', [
    range(17), range(9), [0, 1, 2, 5, 6, 11, 12, 13, 14, 15],
    [0, 1, 11, 12, 13, 14, 15, 16, 9], [3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
    [0, 5, 11, 12]
])
@pytest.mark.parametrize('input_size', [None, (192, 256)])
def test_half_body_box_is_the_authors(visible_ids, input_size):
    """Centre = mean of the selected keypoints, box = their min/max,
    aspect ratio fixed (here or by TopdownAffine), x 1.5; the authors'
    scale x 200 is mmpose's bbox_scale."""
    n, ar = 200, 192 / 256
    results = person(n, visible_ids)
    transform = JointsDatasetHalfBody(prob=1.0, num_joints_half_body=3,
                                      input_size=input_size)
    passed = results['keypoints_visible'].sum(1) > 3
    assert passed.all()
    np.random.seed(1)
    np.random.rand(n)  # the prob test of each instance (all pass)
    z = np.random.randn(n)  # then the upper / lower draw
    np.random.seed(1)
    out = transform(dict(results))
    for i in range(n):
        c, s = authors_half_body(results['keypoints'][i],
                                 results['keypoints_visible'][i], UPPER, ar,
                                 z[i])
        got_c, got_s = out['bbox_center'][i], out['bbox_scale'][i]
        if c is None:
            assert (got_c == -1).all() and (got_s == -1).all()
            continue
        np.testing.assert_allclose(got_c, c, rtol=1e-6)
        if input_size is None:
            got_s = fix_aspect_ratio(got_s[None], ar)[0]
        np.testing.assert_allclose(got_s, s * 200, rtol=1e-5)


def test_half_body_probabilities_are_the_authors():
    """All 17 visible: applied with P = prob (l.157), the upper body with
    P = Phi(0.5) = 0.6915 (l.84, z < 0.5); mmpose's 0.7 is 5.8 SE away
    at N = 1e5."""
    results = person(N, range(17))
    np.random.seed(2)
    out = JointsDatasetHalfBody(prob=0.3)(dict(results))
    assert proportion_ok(out['bbox_scale'][:, 0] != -1, 0.3)
    np.random.seed(2)
    out = JointsDatasetHalfBody(prob=1.0)(dict(results))
    kp = results['keypoints']
    is_upper = np.isclose(out['bbox_center'], kp[:, :11].mean(1)).all(1)
    is_lower = np.isclose(out['bbox_center'], kp[:, 11:].mean(1)).all(1)
    assert (is_upper ^ is_lower).all()
    assert proportion_ok(is_upper, Phi(0.5))


@pytest.mark.parametrize('visible_ids,applies', [(range(8), False),
                                                 (range(9), True)])
def test_half_body_needs_more_than_num_joints_half_body(visible_ids,
                                                        applies):
    """l.156: np.sum(joints_vis[:, 0]) > NUM_JOINTS_HALF_BODY (8,
    lib/config/default.py l.82), strictly. range(9): 9 upper keypoints."""
    results = person(50, visible_ids)
    np.random.seed(0)
    out = JointsDatasetHalfBody(prob=1.0)(dict(results))
    changed = out['bbox_scale'][:, 0] != -1
    assert changed.all() == applies and changed.any() == applies


def test_half_body_fallbacks_and_mmpose_differs():
    """Two upper and six lower keypoints: the authors always take the
    lower body (the upper one needs more than 2, l.84-88); mmpose's
    RandomHalfBody takes the upper one with probability 0.7."""
    results = person(2000, [0, 1, 11, 12, 13, 14, 15, 16])
    lower_mean = results['keypoints'][:, 11:].mean(1)
    np.random.seed(3)
    ours = JointsDatasetHalfBody(prob=1.0, num_joints_half_body=7)(
        dict(results))
    assert np.allclose(ours['bbox_center'], lower_mean)
    np.random.seed(3)
    theirs = TRANSFORMS.build(
        dict(type='RandomHalfBody', prob=1.0, min_total_keypoints=8))(
            dict(results))
    took_upper = ~np.isclose(theirs['bbox_center'], lower_mean).all(1)
    assert proportion_ok(took_upper, 0.7)


def test_half_body_keeps_the_box_when_fewer_than_two_are_selected():
    """l.87-91: upper 1 visible, lower 2 visible -> upper (1 keypoint)
    -> the box is kept; all selected keypoints at one point -> kept."""
    results = person(20, [0, 11, 12])
    np.random.seed(0)
    out = JointsDatasetHalfBody(prob=1.0, num_joints_half_body=2)(
        dict(results))
    assert (out['bbox_scale'] == -1).all()
    results = person(20, [0, 1, 2, 11])
    results['keypoints'][:, :3] = 50.0
    out = JointsDatasetHalfBody(prob=1.0, num_joints_half_body=3)(
        dict(results))
    assert (out['bbox_scale'] == -1).all()


def test_half_body_layouts_and_errors():
    results = person(4, range(17))
    results['keypoints_visible'] = np.stack(
        [results['keypoints_visible']] * 2, axis=-1)  # (N, K, 2)
    out = JointsDatasetHalfBody(prob=1.0)(dict(results))
    assert out['bbox_scale'].shape == (4, 2)
    assert (out['bbox_scale'] != -1).all()
    del results['upper_body_ids']
    with pytest.raises(KeyError, match='JointsDatasetHalfBody needs'):
        JointsDatasetHalfBody()(results)
    for kwargs in (dict(prob=-1.0), dict(prob=2), dict(padding=0),
                   dict(num_joints_half_body=-1), dict(input_size=(0, 4))):
        with pytest.raises(ValueError, match='JointsDatasetHalfBody got'):
            JointsDatasetHalfBody(**kwargs)


def test_pipeline_with_topdown_affine():
    """Drop-in: the two transforms and TopdownAffine in a pipeline."""
    from mmcv.transforms import Compose
    pipeline = Compose([
        dict(type='JointsDatasetHalfBody', prob=1.0),
        dict(type='JointsDatasetBBoxTransform', scale_factor=SF,
             rotate_factor=RF),
        dict(type='TopdownAffine', input_size=(48, 64)),
    ])
    results = person(1, range(17))
    results.update(img=np.zeros((300, 300, 3), np.uint8),
                   bbox_center=np.float32([[150, 150]]),
                   bbox_scale=np.float32([[200, 280]]))
    np.random.seed(0)
    out = pipeline(results)
    assert out['img'].shape == (64, 48, 3)
    assert out['transformed_keypoints'].shape == (1, 17, 2)
    assert 'JointsDatasetHalfBody(prob=1.0' in repr(pipeline)
