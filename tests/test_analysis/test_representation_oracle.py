# Copyright (c) simdr_ext contributors. All rights reserved.
"""The representation oracle on the bundled COCO, CrowdPose and MPII files.

The bounds are SimDR Appendix D's: decoding the target itself errs by at
most ``1 / (2k)`` input px per axis for SimDR and ``lambda / 2`` for an
argmax heatmap; the decoded and the affine-mapped keypoints are float32,
so each may be off by half an ulp of the largest coordinate, one ulp
(``float32_tolerance``) in all.
"""
import copy
import json
import os.path as osp

import pytest
from mmpose.registry import KEYPOINT_CODECS
from tools.analysis.representation_oracle import (
    BENCHMARKS, ROW_FIELDS, bound_violations, float32_tolerance, load_people,
    main, oracle_codecs, parse_size, quantisation_bound, run_oracle)

SIZES = ('64x64', '256x192')
NUM_PEOPLE = 12  # 14 annotations, two with num_keypoints == 0
EXACT = ('SASimDRLabel +refine', 'DarkHeatmap unbiased+dark')


@pytest.fixture(scope='module')
def rows(quickstart_config):
    # twice: one row per distinct codec
    return run_oracle('coco', SIZES, configs=[quickstart_config] * 2)


def pick(rows, size, codec):
    found = [r for r in rows if r['size'] == size and r['codec'] == codec]
    assert len(found) == 1, (size, codec)
    return found[0]


def test_people_are_the_data_sets_non_crowd_annotated_ones():
    dataset, people = load_people(BENCHMARKS['coco'])
    assert type(dataset).__name__ == 'CheckedCocoDataset'
    assert len(people) == NUM_PEOPLE == len(dataset)
    assert all(p['keypoints'].shape == (1, 17, 2) for p in people)


def test_rows_have_expected_fields(rows):
    assert len(rows) == sum(len(oracle_codecs(parse_size(s)))
                            for s in SIZES) + 1
    for r in rows:
        assert set(ROW_FIELDS) <= set(r), sorted(set(ROW_FIELDS) - set(r))
        assert 0 <= r['mean_oks'] <= 1 and 0 <= r['score'] <= 1
        # no visible keypoint of this file leaves the input box
        assert r['n_kpt'] == r['n_visible'] > 0
    assert not bound_violations(rows)


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


def test_finer_bins_lose_less(rows):
    """64x64 input: SimDR's error falls with k and OKS rises; heatmap bins
    of lambda = 4 px cost AP, the exact representations cost nothing."""
    simdr = [pick(rows, '64x64', f'SimDRLabel k={k}') for k in (1, 2, 3)]
    errs = [r['mean_err_input'] for r in simdr]
    assert errs == sorted(errs, reverse=True) and errs[0] > 2 * errs[2]
    oks = [r['mean_oks'] for r in simdr]
    assert oks == sorted(oks) and oks[0] < oks[2]
    coarse = pick(rows, '64x64', 'DarkHeatmap biased+argmax')
    assert coarse['score'] < 0.9 and coarse['mean_oks'] < oks[0]
    for size in SIZES:
        for name in EXACT:
            r = pick(rows, size, name)
            assert r['score'] == pytest.approx(1.0), r
            assert r['mean_oks'] == pytest.approx(1.0, abs=1e-6), r


@pytest.mark.parametrize('size', SIZES)
def test_heatmap_argmax_error_below_half_stride(rows, size):
    """SimDR Appendix D.2: |round(x / lambda) lambda - x| <= lambda / 2."""
    tol = float32_tolerance(parse_size(size))
    for codec in ('DarkHeatmap biased+argmax',
                  'MSRAHeatmap (mmpose, reference)'):
        r = pick(rows, size, codec)
        assert r['bound'] == 4 / 2  # lambda = input / heatmap = 4
        assert r['max_axis_err_input'] < r['bound'] + tol, r


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


@pytest.mark.parametrize('size', SIZES)
def test_simdr_star_argmax_is_mmpose_simcc(rows, size):
    """Both centre the Gaussian on bin round(x k) and take the argmax."""
    ours = pick(rows, size, 'SASimDRLabel')
    theirs = pick(rows, size, 'SimCCLabel (mmpose, reference)')
    for key in ('mean_err_input', 'max_axis_err_input', 'mean_err_image'):
        assert ours[key] == pytest.approx(theirs[key], abs=1e-6), key


def test_dark_decodes_the_unbiased_target_everywhere(rows):
    """Unbiased encoding + DARK decoding: the log of the target is a
    parabola, border keypoints included (the map is extended by the same
    Gaussian), so what is left is the blur's sampling, below 1e-3 heatmap
    px (tests/test_codecs/test_dark_refinement.py), i.e. 4e-3 input px at
    lambda = 4; far below the argmax's lambda / 2."""
    for size in SIZES:
        r = pick(rows, size, 'DarkHeatmap unbiased+dark')
        assert r['max_axis_err_input'] < 4 * 1e-3, r


def test_simdr_star_refine_recovers_the_centre(rows):
    """log(Gaussian) is a parabola: the 3-point step is exact up to float32
    labels (relative 2**-24 in the log, times sigma^2 = 36 bins of
    curvature), far below 1e-4 px; mmpose's back-projection then returns
    the annotation up to float32 rounding of image coordinates (< 640 px:
    a few ulps of 6e-5)."""
    for size in SIZES:
        r = pick(rows, size, 'SASimDRLabel +refine')
        assert r['max_axis_err_input'] < 1e-4
        assert r['mean_err_image'] < 1e-4


def test_config_codec_row(rows):
    """The quickstart config's label-smoothed SimDRLabel (k = 2) decodes
    like one-hot labels: within half a bin, at its own 128x96 input."""
    r = pick(rows, '128x96',
             'simdr_res18_1xb12-300e_coco-mini-128x96 (+1 alike)')
    assert r['settings'].startswith('SimDRLabel:') and r['bound'] == 0.25
    assert 0.2 < r['max_axis_err_input'] < 0.25 + float32_tolerance((96, 128))


@pytest.mark.parametrize(
    'cfg, bound',
    [(dict(type='SimDRLabel', split_ratio=2), 0.25),
     (dict(type='SimDRLabel', split_ratio=2, label_smoothing=0.1), 0.25),
     (dict(type='SimCCLabel', simcc_split_ratio=3.0), 1 / 6),
     (dict(type='SASimDRLabel', split_ratio=2, decode_refine=False), 0.25),
     (dict(type='SASimDRLabel', split_ratio=2, decode_refine=True), None),
     (dict(type='MSRAHeatmap', heatmap_size=(48, 64), sigma=2), 2),
     (dict(type='MSRAHeatmap', heatmap_size=(48, 64), sigma=2,
           unbiased=True), None),
     (dict(
         type='DarkHeatmap',
         heatmap_size=(48, 64),
         unbiased=False,
         decode_mode='argmax'), 2),
     (dict(
         type='DarkHeatmap',
         heatmap_size=(48, 64),
         unbiased=True,
         decode_mode='shift'), None)],
    ids=lambda v: v['type'] if isinstance(v, dict) else str(v))
def test_quantisation_bound_of_built_codecs(cfg, bound):
    codec = KEYPOINT_CODECS.build(dict(cfg, input_size=(192, 256)))
    assert quantisation_bound(codec) == bound


@pytest.mark.parametrize('dataset', ['crowdpose', 'mpii'])
def test_other_data_sets(dataset):
    """Same path on CrowdPose (crowd AP) and MPII (PCK): the bounds hold
    and the exact representations recover the ground truth."""
    rows = run_oracle(dataset, ('64x64', ))
    assert not bound_violations(rows)
    assert len({r['n_visible'] for r in rows}) == 1
    for name in EXACT:
        r = pick(rows, '64x64', name)
        assert r['mean_err_input'] < 1e-3, r
    if dataset == 'mpii':  # every keypoint is inside the box
        assert pick(rows, '64x64', EXACT[0])['score'] == pytest.approx(1.0)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="'lsp'"):
        run_oracle('lsp', ('64x64', ))
    with pytest.raises(ValueError, match='padding 0'):
        run_oracle('coco', ('64x64', ), padding=0)
    with pytest.raises(ValueError, match="'64'"):
        parse_size('64')
    violated = dict(size='64x64', bound=0.25, max_axis_err_input=0.26)
    assert bound_violations([violated]) == [violated]


def test_person_without_visible_keypoints_is_skipped_with_a_warning(tmp_path):
    with open(BENCHMARKS['coco'].ann_file) as f:
        data = json.load(f)
    ghost = copy.deepcopy(data['annotations'][0])
    ghost['id'] = 999999
    # claims keypoints and has coordinates (mmpose keeps it), but every v
    # is 0: nothing to encode
    ghost['num_keypoints'] = 3
    ghost['keypoints'] = [
        0 if i % 3 == 2 else v for i, v in enumerate(ghost['keypoints'])
    ]
    data['annotations'].append(ghost)
    ann_file = tmp_path / 'ghost.json'
    ann_file.write_text(json.dumps(data))
    img_dir = osp.dirname(BENCHMARKS['coco'].ann_file)  # images stay there
    with pytest.warns(UserWarning, match='no keypoint with v > 0'):
        _, people = load_people(BENCHMARKS['coco'], str(ann_file), img_dir)
    assert len(people) == NUM_PEOPLE
    assert 999999 not in [p['id'] for p in people]


def test_cli_prints_table(capsys):
    code = main(['--sizes', '64x64'])
    out = capsys.readouterr().out
    assert code == 0
    assert '| size | codec | settings |' in out
    assert '| 64x64 | SimDRLabel k=2 |' in out
    assert '| 64x64 | MSRAHeatmap (mmpose, reference) |' in out
    assert 'sigma 2 (blur kernel 11)' in out
    assert 'All quantisation bounds hold' in out
    with pytest.raises(SystemExit):
        main(['--sizes', '64'])
    assert "size '64'" in capsys.readouterr().err
