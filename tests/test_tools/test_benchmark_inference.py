# Copyright (c) simdr_ext contributors. All rights reserved.
"""The inference benchmark times the package's batched API
(``simdr_ext.apis``; its own tests are in ``tests/test_apis``) against
mmpose's paths, the ONNX runtime and the forward floor, per precision, with
the achieved GFLOP/s against the GEMM rate, at a tiny size (the quickstart
model, 12 crops, one round)."""
import pytest

import simdr_ext.apis
from tools.analysis import benchmark_inference as bi

#: a stand-in GEMM rate per precision (GFLOP/s)
PEAKS = dict(fp32=10.0, bf16=0.5, fp16=8.0, int8=40.0)


@pytest.fixture(scope='module')
def paths(quickstart_config):
    return bi.benchmark_paths(quickstart_config, num_crops=12, threads=1,
                              device='cpu', rounds=1, peaks=PEAKS)


def test_benchmark_times_the_package_api():
    assert bi.BatchedTopdownInferencer is \
        simdr_ext.apis.BatchedTopdownInferencer


def test_few_people_images_hold_one_to_three_boxes():
    images, boxes = bi.few_people(1)
    # the 4 bundled images hold 1, 2, 4 and 5 annotated people
    assert sorted(len(b) for b in boxes) == [1, 1, 1, 1, 2, 2, 2, 3, 3]
    assert len(images) == 9
    images, boxes = bi.few_people(17)
    assert len(images) == 18 and sum(len(b) for b in boxes) == 32


def test_every_path_and_precision_is_a_row_or_says_why(paths):
    timed = {(r['path'], r['precision'], r['batch']) for r in paths['rows']}
    skipped = {(s['path'], s['precision']): s['reason']
               for s in paths['skipped']}
    for key in [('(a) mmpose inference_topdown', 'fp32', 'per image'),
                ('(b) mmpose MMPoseInferencer', 'fp32', '4 images')] + [
                    (p, 'fp32', b) for b in ('1', '8', '32')
                    for p in ('(c) batched API', '(e) forward only (floor)')
                ] + [('(d) ONNX runtime', 'fp32', '8')]:
        assert key in timed, key
    for path, precision in [('(c) batched API, default batch', 'fp32'),
                            ('(c) batched API', 'bf16'),
                            ('(d) ONNX runtime', 'fp16'),
                            ('(d) ONNX runtime', 'int8')]:
        was_timed = any(k[:2] == (path, precision) for k in timed)
        assert was_timed != ((path, precision) in skipped), (path, precision)
        if not was_timed:
            assert skipped[(path, precision)], (path, precision)
    for reason in skipped.values():
        assert ': ' in reason  # the error's type and message
    text = bi.format_paths(paths)
    for s in paths['skipped']:
        assert f'not run: {s["reason"]}' in text


def test_achieved_rate_is_operations_times_crops_per_second(paths):
    table = bi.tool_module('analysis/model_table.py')
    model = bi.build_model(paths['config'])
    w, h = model.cfg.codec['input_size']
    gmacs, _ = table.count_ops(table.TensorForward(model),
                               bi.torch.zeros(1, 3, h, w))
    assert paths['gflop_per_crop'] == pytest.approx(2 * gmacs)
    flips = 2 if paths['flip_test'] else 1
    for row in paths['rows']:
        assert row['gflops'] == pytest.approx(
            2 * gmacs * flips * row['crops_per_s'])
        assert row['of_peak'] == pytest.approx(row['gflops'] /
                                               PEAKS[row['precision']])


def test_goals(paths):
    goals = {g['goal']: g for g in paths['goals']}
    shipped = 'fastest shipped path at batch 8 >= 3.0x (a)'
    assert shipped in goals
    # the fastest of (c) and (d) at batch 8 (or the default batch)
    best = max((r for r in paths['rows'] if r['shipped'] and (
        r['batch'] == '8' or r['batch'].startswith('auto'))),
               key=lambda r: r['crops_per_s'])
    assert goals[shipped]['measured'].startswith(f'{best["vs_a"]:.2f}x')
    assert goals[shipped]['met'] == (best['vs_a'] >= 3.0)
    bf16 = goals['bf16 (c) >= 1.7x fp32 (c), B = 8']
    # the GEMM rates tell what bfloat16 can give on this CPU
    assert 'GEMM rate bf16 / fp32 on this CPU: 0.5 / 10.0 = 0.05x' in \
        bf16['measured']
    int8 = goals['int8 (d) >= 1.5x fp32 (d), B = 8']
    assert 'GEMM rate int8 / fp32 on this CPU: 40.0 / 10.0 = 4.00x' in \
        int8['measured']
    for g in (bf16, int8):
        if g['measured'].startswith('not measured'):
            assert not g['met']
    few = goals['API default >= 1.0x (a) on images with 1-3 people']
    assert paths['few_crops'] == 16 and paths['few_images'] == 9
    if len(paths['few']) == 2:
        assert few['met'] == (paths['few'][1]['vs_a'] >= 1.0)
        assert paths['few'][1]['batch'].startswith('auto')
    else:
        assert few['measured'].startswith('not measured') and not few['met']


def test_main_prints_the_gemm_rate_and_every_table(paths, monkeypatch,
                                                   capsys):
    gemm = bi.tool_module('analysis/gemm_rate.py')
    tiny = gemm.ConvShape(batch=1, channels_in=4, channels_out=4, height=3,
                          width=3, name='tiny')
    seen = {}

    def rates(threads):
        seen['threads'] = threads
        return gemm.rates(threads, repeats=1, budget=0.01, shape=tiny)

    def benchmark(*args, **kwargs):
        seen['peaks'] = kwargs['peaks']
        return paths

    monkeypatch.setattr(bi, 'gemm_rates', rates)
    monkeypatch.setattr(bi, 'benchmark_paths', benchmark)
    bi.main(['--config', paths['config'], '--threads', '1', '--sizes'])
    out = capsys.readouterr().out
    assert seen['threads'] == 1 and seen['peaks']['fp32'] > 0
    assert '# Sustained GEMM / convolution rate' in out
    assert 'CPU flags: ' in out
    assert 'simdr_res18_1xb12-300e_coco-mini-128x96.py' in out
    assert '12 crops per pass over 4 images' in out
    assert '| path | precision | batch | crops/s | ms/crop | x (a) | ' \
        'x floor (e), same B | GFLOP/s | of GEMM rate |' in out
    assert '| (a) mmpose inference_topdown | fp32 | per image |' in out
    assert out.count('| (c) batched API | fp32 |') == 3
    assert 'Images with 1-3 people: 16 crops over 9 images' in out
    assert 'fastest shipped path at batch 8 >= 3.0x (a)' in out
    assert 'SimDR upsample-free vs heatmap' not in out
    seen.clear()
    bi.main(['--config', paths['config'], '--no-gemm-rate', '--sizes'])
    assert 'threads' not in seen and seen['peaks'] is None
    assert '# Sustained GEMM' not in capsys.readouterr().out


def test_simdr_vs_heatmap_goal_follows_the_gflops_ratio():
    reps = bi.benchmark_representations(('64x64', ), num_crops=12,
                                        threads=1, device='cpu', rounds=1)
    heat, simdr = reps['rows']
    # the heatmap network adds three deconvolutions to the same ResNet-50
    assert heat['gflop'] > simdr['gflop'] > 0
    ratio = heat['gflop'] / simdr['gflop']
    assert simdr['ops_ratio'] == pytest.approx(ratio)
    (g, ) = reps['goals']
    assert f'= {0.95 * ratio:.2f}x heatmap + DARK, 64x64' in g['goal']
    assert g['met'] == (simdr['ratio'] >= 0.95 * ratio)
    assert '| 64x64 | SimDR Res50 upsample-free |' in \
        bi.format_representations(reps)
