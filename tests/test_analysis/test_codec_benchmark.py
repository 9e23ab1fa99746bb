# Copyright (c) simdr_ext contributors. All rights reserved.
"""simdr_ext.analysis.codec_benchmark and tools/analysis/benchmark_codecs.py
on tiny settings (N=4, one size, one timed call): fields, signs, agreement.
"""
import importlib.util
import os.path as osp

import numpy as np
import pytest

from mmpose.registry import KEYPOINT_CODECS
from simdr_ext.analysis.codec_benchmark import (KPT_TOL, LABEL_TOL, OPS,
                                                ROW_FIELDS, check_goals,
                                                codec_pairs, make_keypoints,
                                                paper_split_ratio, parse_size,
                                                run_benchmark)

SIZE = '64x64'
N = 4


def load_tool(repo_root, name):
    path = osp.join(repo_root, 'tools', 'analysis', f'{name}.py')
    spec = importlib.util.spec_from_file_location(f'tool_{name}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def rows():
    return run_benchmark(sizes=(SIZE, ), num_instances=N, repeats=1)


def test_rows_have_expected_fields(rows):
    pairs = codec_pairs(parse_size(SIZE))
    assert len(rows) == len(pairs) * len(OPS)
    assert [r['op'] for r in rows] == list(OPS) * len(pairs)
    assert {r['pair'] for r in rows} == {p.name for p in pairs}
    for r in rows:
        assert set(ROW_FIELDS) <= set(r), sorted(set(ROW_FIELDS) - set(r))
        assert r['size'] == SIZE
        assert r['diff_unit'] == ('label' if r['op'] == 'encode' else 'px')


def test_timings_and_ratios_are_positive(rows):
    for r in rows:
        assert r['us_ours'] > 0 and r['us_mmpose'] > 0, r
        assert r['ratio'] == pytest.approx(r['us_mmpose'] / r['us_ours'])
        assert r['ratio'] > 0


def test_agreement_where_settings_mean_the_same(rows):
    for r in rows:
        assert r['agree'], r
        if r['op'] == 'encode':
            # SimDR's one-hot labels are the same two float32 constants;
            # Gaussians agree to float32 rounding of exp (LABEL_TOL)
            tol = 0.0 if r['pair'].startswith('SimDRLabel') else LABEL_TOL
            assert r['max_abs_diff'] <= tol, r
        else:
            assert r['max_abs_diff'] <= KPT_TOL, r
            assert r['compared'] > 0
            assert r['compared'] + r['noise_only'] == N * 17


def test_goals_report(rows):
    goals = check_goals(rows)
    assert set(goals) == {
        'encode', 'dark_decode', 'dark_batch_decode', 'agreement'
    }
    assert goals['agreement']['met'] is True
    assert len(goals['encode']['value']) == 3  # one encode row per pair
    assert len(goals['dark_decode']['value']) == 1
    assert len(goals['dark_batch_decode']['value']) == 1
    for key in ('encode', 'dark_decode', 'dark_batch_decode'):
        assert isinstance(goals[key]['met'], bool)
        assert goals[key]['met'] == (
            min(goals[key]['value']) >= (5 if key == 'encode' else 10))


@pytest.mark.parametrize(
    'name,size', [('64x64', (64, 64)), ('256x192', (192, 256)),
                  ('384x288', (288, 384))],
    ids=['square', 'coco', 'coco-large'])
def test_parse_size_is_h_by_w(name, size):
    assert parse_size(name) == size


@pytest.mark.parametrize('name', ['256', '256x', 'axb', '0x64'])
def test_parse_size_rejects(name):
    with pytest.raises(ValueError, match='size'):
        parse_size(name)


def test_pairs_use_the_papers_settings():
    small, coco = codec_pairs((64, 64)), codec_pairs((192, 256))
    assert paper_split_ratio((64, 64)) == paper_split_ratio((128, 128)) == 3
    assert paper_split_ratio((192, 256)) == 2
    assert small[0].ours['split_ratio'] == small[0].mmpose[
        'simcc_split_ratio'] == 3.0
    assert coco[1].ours['round_center'] is True
    assert coco[1].mmpose['smoothing_type'] == 'gaussian'
    assert coco[2].ours['heatmap_size'] == coco[2].mmpose['heatmap_size'] == (
        48, 64)
    for pair in coco:  # every config builds
        KEYPOINT_CODECS.build(pair.ours)
        KEYPOINT_CODECS.build(pair.mmpose)


def test_one_call_per_instance_heatmaps_equal_single_instance_calls():
    """(1, N K, 2) in one DarkHeatmap call == N calls with N = 1."""
    pair = codec_pairs((64, 64))[2]
    codec = KEYPOINT_CODECS.build(pair.ours)
    kpts, vis = make_keypoints(np.random.default_rng(0), (64, 64), 3)
    enc = codec.encode(kpts.reshape(1, -1, 2), vis.reshape(1, -1))
    maps = enc['heatmaps'].reshape(3, 17, 16, 16)
    for i in range(3):
        single = codec.encode(kpts[i:i + 1], vis[i:i + 1])
        np.testing.assert_array_equal(maps[i], single['heatmaps'])
        np.testing.assert_array_equal(
            enc['keypoint_weights'].reshape(3, 17)[i],
            single['keypoint_weights'][0])


def test_cli_prints_table_and_goals(capsys, repo_root):
    tool = load_tool(repo_root, 'benchmark_codecs')
    code = tool.main([
        '--num-instances',
        str(N), '--repeats', '1', '--sizes', SIZE, '--pairs', 'SimDRLabel'
    ])
    out = capsys.readouterr().out
    assert code == 0
    assert '| pair (simdr_ext / mmpose) | size | op |' in out
    assert out.count('| SimDRLabel / SimCCLabel(standard) | 64x64 |') == 3
    assert 'encode >= 5x faster' in out
    assert 'identical keypoints' in out and 'MET' in out


@pytest.mark.parametrize(
    'codec', ['SimDRLabel', 'SASimDRLabel', 'DarkHeatmap'],
    ids=['simdr', 'sa-simdr', 'dark'])
def test_pairs_filter_keeps_one_codec(codec):
    rows = run_benchmark(
        sizes=(SIZE, ), num_instances=2, repeats=1, pairs=[codec])
    assert len(rows) == len(OPS)
    assert all(
        r['pair'].startswith(codec + '(') or r['pair'].startswith(codec + ' ')
        for r in rows)


def test_cli_exit_code_is_1_when_agreement_fails(capsys, repo_root,
                                                 monkeypatch):
    tool = load_tool(repo_root, 'benchmark_codecs')
    real = tool.run_benchmark

    def broken(**kwargs):
        rows = real(**kwargs)
        rows[1] = dict(rows[1], max_abs_diff=1.0, agree=False)
        return rows

    monkeypatch.setattr(tool, 'run_benchmark', broken)
    code = tool.main([
        '--num-instances', '2', '--repeats', '1', '--sizes', SIZE, '--pairs',
        'SimDRLabel'
    ])
    assert code == 1
    assert 'FAILED' in capsys.readouterr().out
