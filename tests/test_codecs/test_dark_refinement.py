# Copyright (c) simdr_ext contributors. All rights reserved.
"""DARK refinement at the border, on noisy and on garbage maps.

Fixture maps are mmpose's unbiased Gaussian targets
(``generate_unbiased_gaussian_heatmaps``, DARK eq. 14 on the whole map,
float32) plus seeded noise; the truth is the centre they were drawn at.
"""
import numpy as np
import pytest
import torch

from mmpose.codecs.utils.gaussian_heatmap import \
    generate_unbiased_gaussian_heatmaps
from mmpose.codecs.utils.refinement import refine_keypoints_dark
from mmpose.registry import KEYPOINT_CODECS
from simdr_ext.codecs.utils import heatmap_argmax, refine_dark, taylor_offset
from simdr_ext.codecs.utils.dark import STEP_LIMIT
from tools.analysis.dark_decoding_table import refine_dark_full

HEATMAP_SIZE = (48, 64)  # (W, H), mmpose's COCO 256x192 setting
SIGMA, KERNEL = 2.0, 11
W, H = HEATMAP_SIZE
# Float32 maps: the log of a sample is off by ~6e-8; the border extension
# combines three logs with Lagrange weights summing in size to < 130 at
# the 7 px the kernel-11 patch reaches, so ~1e-5 in the extended log,
# which moves the Taylor step by less than that times the curvature
# radius (sigma^2 + kernel sigma^2 = 8 px^2): 1e-4 px bounds it.
F32_STEP_TOL = 1e-4
# an unbiased Gaussian decoded in the interior errs by the blur's sampling
# (measured 5e-4 px at most); the same bound must hold on the border
CLEAN_TOL = 1e-3


def targets(centres):
    """mmpose's unbiased Gaussian targets, one map per centre (K, H, W)."""
    centres = np.asarray(centres, np.float64)
    maps, _ = generate_unbiased_gaussian_heatmaps(HEATMAP_SIZE,
                                                  centres[None],
                                                  np.ones((1, len(centres))),
                                                  SIGMA)
    return maps


def decode_both(maps, **kwargs):
    """refine_dark, its torch twin and the full-map reference agree."""
    locs, _ = heatmap_argmax(maps)
    ours = refine_dark(maps, locs, KERNEL, **kwargs)
    # the same argmax (torch's argmax may break ties elsewhere)
    twin = refine_dark(
        torch.from_numpy(maps), torch.from_numpy(locs), KERNEL,
        **kwargs).numpy()
    np.testing.assert_allclose(twin, ours, atol=1e-9)
    full = refine_dark_full(maps, locs, KERNEL, **kwargs)
    np.testing.assert_allclose(full, ours, atol=1e-6)
    return locs, ours


BORDER_CENTRES = [
    (0.3, 31.6),  # 0.3 px right of the first column's centre
    (W - 1.3, 31.6),  # 0.3 px left of the last column's
    (20.4, 0.3),
    (20.4, H - 1.3),
    (0.3, 0.3),  # corners
    (W - 1.3, H - 1.3),
    (-0.2, 0.3),  # 0.3 px inside the map's edge at -0.5
    (W - 0.8, -0.2),
]


@pytest.mark.parametrize('centre', BORDER_CENTRES)
def test_border_keypoint_is_refined_like_an_interior_one(centre):
    """The capped log-quadratic extends a Gaussian by itself: the decoded
    offset is the one of the same Gaussian moved to the interior by whole
    pixels, and mmpose (no step within 2 px of the border) stays at the
    argmax."""
    centre = np.array(centre)
    # 20 px inwards on the axes near the border: >= 7 px (the kernel-11
    # patch radius) from it
    shift = 20.0 * ((centre < 10) * 1 - (centre > np.array([W, H]) - 10))
    maps = targets([centre, centre + shift])
    locs, ours = decode_both(maps)
    err = ours - [centre, centre + shift]
    np.testing.assert_allclose(err[0], err[1], atol=F32_STEP_TOL)
    assert np.abs(err).max() < CLEAN_TOL
    # without refinement the error is the argmax's 0.2-0.5 px
    assert np.abs(locs[0] - centre).max() >= 0.2
    ref = refine_keypoints_dark(
        locs[None, :1].astype(np.float32), maps[:1].copy(), KERNEL)[0]
    np.testing.assert_array_equal(ref[0], locs[0])


def test_border_keypoint_through_the_codec():
    """Input px 1.2 and 253.2 are heatmap px 0.3 and 63.3 (lambda 4), 0.3 px
    from the first and last pixel centres."""
    codec = KEYPOINT_CODECS.build(
        dict(
            type='DarkHeatmap',
            input_size=(192, 256),
            heatmap_size=HEATMAP_SIZE,
            sigma=SIGMA,
            blur_kernel_size=KERNEL))
    kp = np.array([[[1.2, 100.3], [189.2, 253.2], [1.2, 1.2], [96.5, 1.0]]])
    decoded, _ = codec.decode(codec.encode(kp)['heatmaps'])
    assert np.abs(decoded - kp).max() < 4 * CLEAN_TOL
    torch_kp, _ = codec.decode_torch(torch.from_numpy(
        codec.encode(kp)['heatmaps']))
    np.testing.assert_allclose(torch_kp.numpy(), decoded, atol=1e-4)


def noisy_targets(seed, num, noise):
    """Interior Gaussians (>= 10 px from the border) + N(0, noise^2)."""
    rng = np.random.default_rng(seed)
    centres = 10 + (np.array([W, H]) - 21) * rng.random((num, 2))
    maps = targets(centres)
    maps = maps + (noise * rng.standard_normal(maps.shape)).astype(
        np.float32)
    return maps, centres


def test_noisy_maps_take_the_steps_the_old_rule_refused():
    """Gaussian + N(0, 0.1^2): a tenth of the concave steps exceed 1 px
    (the former rule kept the argmax there); taking them is right."""
    maps, centres = noisy_targets(0, 400, 0.1)
    locs, ours = decode_both(maps)
    _, free = decode_both(maps, step_limit=np.inf)
    step = free - locs
    refused = (np.abs(step) > 1).any(-1)
    assert refused.sum() >= 20
    err_new = np.linalg.norm(ours - centres, axis=-1)
    err_old = np.linalg.norm(locs - centres, axis=-1)  # argmax kept
    assert err_new[refused].mean() < 0.5 * err_old[refused].mean()
    # these keypoints are interior: mmpose (det != 0, no bound) agrees
    # wherever our step is taken and within the limit
    ref = refine_keypoints_dark(locs[None].astype(np.float32),
                                maps.copy(), KERNEL)[0]
    taken = (step != 0).any(-1) & (np.abs(step) <= STEP_LIMIT).all(-1)
    assert taken.sum() > 0.9 * len(maps)
    np.testing.assert_allclose(ours[taken], ref[taken], atol=1e-4)


def test_garbage_maps_move_at_most_the_step_limit():
    """Uniform noise: mmpose's step reaches far beyond the map, ours
    stays within STEP_LIMIT per axis and on the map."""
    maps = np.random.default_rng(1).random((500, H, W)).astype(np.float32)
    locs, ours = decode_both(maps)
    move = np.abs(ours - locs)
    assert np.isfinite(ours).all()
    assert move.max() <= STEP_LIMIT
    assert (move > 1).any()  # the limit, not the old 1 px, is what binds
    assert (ours >= -0.5).all() and (ours <= [W - 0.5, H - 0.5]).all()
    ref = refine_keypoints_dark(locs[None].astype(np.float32), maps.copy(),
                                KERNEL)[0]
    assert np.abs(ref - locs).max() > 10 * STEP_LIMIT


def test_flat_maps_do_not_blow_up():
    """A constant map has a zero Hessian (no step); a saturated plateau,
    min(4 G, 1), is concave after the blur and is stepped towards its
    centre from its first (top-left) pixel, by at most STEP_LIMIT."""
    flat = np.full((2, H, W), 0.5, np.float32)
    locs, ours = decode_both(flat)
    np.testing.assert_array_equal(ours, locs)
    centres = np.array([[20.3, 30.6], [31.7, 22.2]])
    plateau = np.minimum(4 * targets(centres), 1.0)
    locs, ours = decode_both(plateau)
    assert np.abs(ours - locs).max() <= STEP_LIMIT
    err = np.linalg.norm(ours - centres, axis=-1)
    assert (err < 0.5 * np.linalg.norm(locs - centres, axis=-1)).all()


def parabola_windows(curvatures, peak=(0.4, -0.3)):
    """5x5 log windows of ``c/2 ((x - u)^2 + (y - v)^2)`` around (0, 0)."""
    grid = np.arange(-2, 3, dtype=np.float64)
    dist2 = (grid[None, :] - peak[0])**2 + (grid[:, None] - peak[1])**2
    return np.stack([0.5 * c * dist2 for c in curvatures])


def test_step_only_where_the_hessian_is_a_blurred_blob():
    """On a log parabola the stencils are exact: the offset is the peak.
    With the blur sigma k = 2 given, curvatures outside [-2 / k^2,
    -1 / (2 (4 k)^2)] = [-0.5, -0.0078] get no step: sharper than a blur
    of a non-negative map allows, or a near-singular Hessian."""
    curv = [-0.125, -0.45, -0.6, -1.0, -0.01, -0.005, -1e-4]
    windows = parabola_windows(curv)
    free = taylor_offset(windows)
    np.testing.assert_allclose(free, np.tile([0.4, -0.3], (7, 1)),
                               atol=1e-12)
    guarded = taylor_offset(windows, blur_sigma=2.0)
    blob = np.array([True, True, False, False, True, False, False])
    np.testing.assert_allclose(guarded[blob], free[blob], atol=0)
    assert not guarded[~blob].any()
    twin = taylor_offset(torch.from_numpy(windows), blur_sigma=2.0)
    np.testing.assert_allclose(twin.numpy(), guarded, atol=1e-12)
    # the clip: a peak 5 px away is reached only up to the limit
    far = taylor_offset(parabola_windows([-0.125], (5.0, -4.0)))
    np.testing.assert_allclose(far, [[STEP_LIMIT, -STEP_LIMIT]])
