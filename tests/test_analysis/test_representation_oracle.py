# Copyright (c) simdr_ext contributors. All rights reserved.
"""The representation oracle on the bundled COCO file (12 people).

The bounds are SimDR Appendix D's: decoding the target itself errs by at
most ``1 / (2k)`` input px per axis for SimDR and ``lambda / 2`` for an
argmax heatmap; the decoded and the affine-mapped keypoints are float32,
so each may be off by half an ulp of the largest coordinate, one ulp
(``float32_tolerance``) in all.
"""
import copy
import importlib.util
import json
import os.path as osp

import numpy as np
import pytest

from mmpose.datasets.transforms import GetBBoxCenterScale, TopdownAffine
from simdr_ext.analysis.codec_benchmark import parse_size
from simdr_ext.analysis.representation_oracle import (
    DEFAULT_ANN_FILE, ROW_FIELDS, coco_metainfo_file, coco_sigmas,
    float32_tolerance, load_people, mean_oks, oracle_codecs, run_oracle,
    to_image, topdown_affine)

SIZES = ('64x64', '256x192')
NUM_PEOPLE = 12  # 14 annotations, two with num_keypoints == 0


def load_tool(repo_root, name):
    path = osp.join(repo_root, 'tools', 'analysis', f'{name}.py')
    spec = importlib.util.spec_from_file_location(f'tool_{name}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def rows():
    return run_oracle(DEFAULT_ANN_FILE, SIZES)


def pick(rows, size, codec):
    found = [r for r in rows if r['size'] == size and r['codec'] == codec]
    assert len(found) == 1, (size, codec)
    return found[0]


def test_people_are_the_annotated_non_crowd_ones():
    people = load_people(DEFAULT_ANN_FILE)
    assert len(people.ann_ids) == NUM_PEOPLE
    assert people.keypoints.shape == (NUM_PEOPLE, 17, 2)
    assert (people.visible.sum(1) > 0).all()


def test_people_match_mmpose_coco_dataset(repo_root):
    """Same people, clipped bboxes, keypoints and visibility as mmpose's
    CocoDataset (topdown) parses them; three bboxes here are clipped."""
    from mmpose.datasets import CocoDataset
    people = load_people(DEFAULT_ANN_FILE)
    dataset = CocoDataset(
        ann_file=osp.basename(DEFAULT_ANN_FILE),
        data_root=osp.dirname(DEFAULT_ANN_FILE),
        data_mode='topdown',
        test_mode=True,
        metainfo=dict(from_file=coco_metainfo_file()),
        pipeline=[])
    assert len(dataset) == len(people.ann_ids)
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        assert info['id'] == people.ann_ids[i]
        np.testing.assert_array_equal(info['bbox'][0], people.bboxes[i])
        np.testing.assert_array_equal(info['keypoints'][0],
                                      people.keypoints[i])
        np.testing.assert_array_equal(info['keypoints_visible'][0],
                                      people.visible[i])


def test_rows_have_expected_fields(rows):
    assert len(rows) == sum(len(oracle_codecs(parse_size(s))) for s in SIZES)
    for r in rows:
        assert set(ROW_FIELDS) <= set(r), sorted(set(ROW_FIELDS) - set(r))
        assert 0 <= r['mean_oks'] <= 1 and -1 <= r['ap'] <= 1
        # no visible keypoint of this file leaves the input box
        assert r['n_kpt'] == r['n_visible'] > 0


@pytest.mark.parametrize('size', SIZES)
@pytest.mark.parametrize('k', [1, 2, 3])
def test_simdr_error_below_half_bin(rows, size, k):
    """SimDR Appendix D: |x_s / k - x| <= 1 / (2k) on every axis."""
    r = pick(rows, size, f'SimDRLabel k={k}')
    tol = float32_tolerance(parse_size(size))
    assert r['bound'] == 0.5 / k
    assert r['max_axis_err_input'] < 0.5 / k + tol
    # with 362 coordinates the bound is nearly reached: it is real
    assert r['max_axis_err_input'] > 0.8 * 0.5 / k
    # mean over uniform per-axis errors in [-1/(2k), 1/(2k)]: 1/(4k) each
    assert r['mean_err_input'] < 0.5 / k


@pytest.mark.parametrize('size', SIZES)
def test_heatmap_argmax_error_below_half_stride(rows, size):
    """SimDR Appendix D.2: |round(x / lambda) lambda - x| <= lambda / 2."""
    tol = float32_tolerance(parse_size(size))
    for codec in ('DarkHeatmap biased+argmax',
                  'MSRAHeatmap (mmpose, reference)'):
        r = pick(rows, size, codec)
        assert r['bound'] == 4 / 2  # lambda = input / heatmap = 4
        assert r['max_axis_err_input'] < r['bound'] + tol, r


def test_simdr_k2_at_256x192_is_near_perfect(rows):
    r = pick(rows, '256x192', 'SimDRLabel k=2')
    assert r['ap'] >= 0.99
    assert r['mean_oks'] > 0.99


def test_heatmap_decoder_ordering_at_small_input(rows):
    """DARK Tables 1/3 without a network, at 64x64 (16x16 heatmaps)."""
    err = {
        r['codec']: r['mean_err_input']
        for r in rows if r['size'] == '64x64'
    }
    assert err['DarkHeatmap unbiased+dark'] < err[
        'DarkHeatmap unbiased+shift'] < err['DarkHeatmap biased+argmax']
    # a biased target is symmetric about its integer peak: the shift has
    # nothing to go on, which is DARK Table 3's point about encoding
    assert err['DarkHeatmap biased+shift'] == err['DarkHeatmap biased+argmax']
    # and simdr_ext's biased+shift is mmpose's standard MSRAHeatmap
    assert err['DarkHeatmap biased+shift'] == pytest.approx(
        err['MSRAHeatmap (mmpose, reference)'], abs=1e-6)


def test_dark_decodes_the_unbiased_target_everywhere(rows):
    """Unbiased encoding + DARK decoding: the log of the target is a
    parabola, border keypoints included (the map is extended by the same
    Gaussian), so what is left is the blur's sampling, below 1e-3 heatmap
    px (tests/test_codecs/test_dark_refinement.py), i.e. 4e-3 input px at
    lambda = 4; far below the argmax's lambda / 2 and the 0.5 input px
    that unrefined border keypoints used to cost."""
    for size in SIZES:
        r = pick(rows, size, 'DarkHeatmap unbiased+dark')
        assert r['max_axis_err_input'] < 4 * 1e-3, r
        assert r['ap'] == pytest.approx(1.0)


def test_simdr_star_refine_recovers_the_centre(rows):
    """log(Gaussian) is a parabola: the 3-point step is exact up to float32
    labels (relative 2**-24 in the log, times sigma^2 = 36 bins of
    curvature), far below 1e-4 px."""
    for size in SIZES:
        r = pick(rows, size, 'SASimDRLabel +refine')
        assert r['max_axis_err_input'] < 1e-4
        assert r['ap'] == pytest.approx(1.0)


def test_affine_matches_mmpose_transforms():
    """Same centre, scale and input keypoints as GetBBoxCenterScale +
    TopdownAffine run on the dataset's data info."""
    people = load_people(DEFAULT_ANN_FILE)
    input_size = (192, 256)
    affine = topdown_affine(people, input_size)
    for i in range(len(people.ann_ids)):
        results = dict(
            img=np.zeros((8, 8, 3), np.uint8),
            bbox=people.bboxes[i:i + 1],
            keypoints=people.keypoints[i:i + 1],
            keypoints_visible=people.visible[i:i + 1])
        results = GetBBoxCenterScale(padding=1.25)(results)
        results = TopdownAffine(input_size=input_size)(results)
        np.testing.assert_array_equal(affine['center'][i],
                                      results['input_center'])
        np.testing.assert_array_equal(affine['scale'][i],
                                      results['input_scale'])
        np.testing.assert_array_equal(affine['keypoints'][i],
                                      results['transformed_keypoints'][0])


def test_to_image_inverts_the_affine():
    """Mapping the exact input keypoints back returns the annotation, up to
    the float32 warp (a few ulps of the largest image coordinate)."""
    people = load_people(DEFAULT_ANN_FILE)
    affine = topdown_affine(people, (64, 64))
    back = to_image(affine['keypoints'], (64, 64), affine['center'],
                    affine['scale'])
    vis = people.visible > 0
    tol = 4 * np.spacing(np.float32(people.keypoints[vis].max()))
    assert np.abs(back - people.keypoints)[vis].max() < tol


def test_mean_oks_is_one_for_exact_and_falls_with_distance():
    people = load_people(DEFAULT_ANN_FILE)
    sigmas = coco_sigmas()
    assert sigmas.shape == (17, )
    exact = mean_oks(people.keypoints, people.keypoints, people.visible,
                     people.areas, sigmas)
    off = mean_oks(people.keypoints + 5, people.keypoints, people.visible,
                   people.areas, sigmas)
    assert exact == pytest.approx(1.0) and 0 < off < 1


def test_person_without_visible_keypoints_is_skipped_with_a_warning(tmp_path):
    with open(DEFAULT_ANN_FILE) as f:
        data = json.load(f)
    ghost = copy.deepcopy(data['annotations'][0])
    ghost['id'] = 999999
    ghost['num_keypoints'] = 3  # claims keypoints, but every v is 0
    ghost['keypoints'] = [0] * 51
    data['annotations'].append(ghost)
    ann_file = tmp_path / 'ghost.json'
    ann_file.write_text(json.dumps(data))
    with pytest.warns(UserWarning, match='no keypoint with v > 0'):
        people = load_people(str(ann_file))
    assert len(people.ann_ids) == NUM_PEOPLE
    assert 999999 not in people.ann_ids
    with pytest.warns(UserWarning, match='no keypoint with v > 0'):
        rows = run_oracle(str(ann_file), ('64x64', ))
    assert all(r['n_visible'] == rows[0]['n_visible'] for r in rows)


def test_cli_prints_table(capsys, repo_root):
    tool = load_tool(repo_root, 'representation_oracle')
    code = tool.main(['--sizes', '64x64'])
    out = capsys.readouterr().out
    assert code == 0
    assert '| size | codec | settings |' in out
    assert '| 64x64 | SimDRLabel k=2 |' in out
    assert '| 64x64 | MSRAHeatmap (mmpose, reference) |' in out
    assert 'sigma 2 (blur kernel 11)' in out
    assert 'All quantisation bounds hold' in out
