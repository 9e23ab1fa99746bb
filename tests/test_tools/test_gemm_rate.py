# Copyright (c) simdr_ext contributors. All rights reserved.
"""The GEMM / convolution rate tool: its one-node ONNX graphs compute what
they are named after, the operation count, the repeat budget, the notes
on emulated arithmetic and the table, at a tiny shape."""
import functools
import time

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tools.analysis import gemm_rate

TINY = gemm_rate.ConvShape(batch=2, channels_in=8, channels_out=4, height=5,
                           width=3, kernel=3, name='tiny')


def run_graph(op, precision, shape=TINY):
    """Output, input and initializers of a one-node graph."""
    import onnxruntime as ort
    from onnx import numpy_helper
    model, feeds = gemm_rate.onnx_graph(op, precision, shape)
    session = ort.InferenceSession(model.SerializeToString(),
                                   providers=['CPUExecutionProvider'])
    weights = {
        i.name: numpy_helper.to_array(i)
        for i in model.graph.initializer
    }
    return session.run(None, feeds)[0], feeds['x'], weights


def test_default_shape_is_resnet50_stage3_at_256x192():
    shape = gemm_rate.RESNET50_STAGE3
    # 256x192 input, stride 16 after stage 3: 16x12; 256 bottleneck channels
    assert (shape.height, shape.width, shape.channels_in) == (16, 12, 256)
    assert shape.gemm == (8 * 16 * 12, 256 * 9, 256)
    assert shape.ops == 2 * 1536 * 2304 * 256


def test_float_graphs_match_numpy_and_torch():
    y, x, w = run_graph('matmul', 'fp32')
    np.testing.assert_allclose(y, x @ w['w'], rtol=1e-5, atol=1e-4)
    y, x, w = run_graph('conv', 'fp32')
    ref = F.conv2d(torch.tensor(x), torch.tensor(w['w']), padding=1)
    np.testing.assert_allclose(y, ref.numpy(), rtol=1e-4, atol=1e-4)
    assert y.shape == (TINY.batch, TINY.channels_out, TINY.height,
                       TINY.width)
    y, x, w = run_graph('matmul', 'fp16')
    assert y.dtype == np.float16
    np.testing.assert_allclose(
        y.astype(np.float32),
        x.astype(np.float32) @ w['w'].astype(np.float32), rtol=2e-2,
        atol=5e-2)


def test_int8_graphs_are_integer_arithmetic():
    y, x, w = run_graph('matmul', 'int8-integer')
    assert y.dtype == np.int32
    np.testing.assert_array_equal(
        y, (x.astype(np.int64) - 128) @ w['w'].astype(np.int64))
    y, x, w = run_graph('conv', 'int8-integer')
    ref = F.conv2d(
        torch.tensor(x.astype(np.float64) - 128),
        torch.tensor(w['w'].astype(np.float64) - 128), padding=1)
    np.testing.assert_array_equal(y, ref.numpy().round().astype(np.int32))
    # QLinearMatMul (ONNX spec): y = saturate(round(
    #   (x - xz) xs @ (w - wz) ws / ys) + yz)
    y, x, w = run_graph('matmul', 'int8-qlinear')
    assert y.dtype == np.uint8
    real = ((x.astype(np.float64) - 128) * w['xs']) @ (
        w['w'].astype(np.float64) * w['ws'])
    ref = np.clip(np.rint(real / w['ys']) + 128, 0, 255)
    assert np.abs(y.astype(np.int64) - ref).max() <= 1
    y, _, _ = run_graph('conv', 'int8-qlinear')
    assert y.dtype == np.uint8 and y.shape[1] == TINY.channels_out
    with pytest.raises(ValueError, match='unknown precision'):
        gemm_rate.onnx_graph('matmul', 'int4', TINY)


def test_best_seconds_keeps_to_the_budget():
    calls = []

    def slow():
        calls.append(1)
        time.sleep(0.02)

    best = gemm_rate.best_seconds(slow, repeats=100, warmup=1, budget=0.1)
    # one warm-up call, then about budget / 0.02 s repeats, not 100
    assert 2 <= len(calls) <= 7
    assert 0.015 < best < 0.2


def test_notes_say_what_is_really_computed():

    def call():
        return None

    call.executed = ['Cast', 'MatMul', 'Cast']
    assert gemm_rate.row_note('fp16', call, False).startswith(
        'float32 arithmetic')
    call.executed = ['MatMulInteger']
    assert gemm_rate.row_note('int8', call, False) == 'runs MatMulInteger'
    assert gemm_rate.row_note('bf16', lambda: 0, False) == 'emulated'
    assert gemm_rate.row_note('bf16', lambda: 0, True) == 'native'


def test_rates_cover_every_precision_and_restore_threads():
    before = torch.get_num_threads()
    result = gemm_rate.rates(threads=1, repeats=1, warmup=1, budget=0.01,
                             shape=TINY)
    assert torch.get_num_threads() == before
    assert {r['precision'] for r in result['rows']} == set(
        gemm_rate.PRECISIONS)
    for row in result['rows']:
        assert (row['gflops'] is None) != (row['error'] is None), row
    for precision in ('fp32', 'int8'):
        assert result['best'][precision] > 0
        assert result['best'][precision] == max(
            r['gflops'] for r in result['rows']
            if r['precision'] == precision and r['gflops'])
    native, why = gemm_rate.bf16_support()
    assert result['bf16_native'] is native and result['bf16'] == why
    assert why.startswith('native' if native else 'emulated')
    for row in result['rows']:
        if row['precision'] == 'bf16' and row['gflops']:
            assert row['note'] == ('native' if native else 'emulated')
        if row['source'].startswith('onnxruntime') and row['gflops']:
            assert row['note'], row
    text = gemm_rate.format_rates(result)
    assert 'GEMM M=30 K=72 N=4' in text
    assert '| fp32 | onnxruntime | conv |' in text
    assert '- best int8: ' in text
    with pytest.raises(ValueError, match='threads'):
        gemm_rate.rates(threads=0)


def test_cpu_flags_are_the_listed_ones():
    flags = gemm_rate.cpu_flags()
    assert set(flags) <= set(gemm_rate.FLAGS)


def test_main_prints_flags_shape_and_table(monkeypatch, capsys):
    monkeypatch.setattr(
        gemm_rate, 'rates',
        functools.partial(gemm_rate.rates, shape=TINY))
    gemm_rate.main(['--threads', '1', '--repeats', '1', '--budget', '0.01'])
    out = capsys.readouterr().out
    assert 'CPU flags: ' in out and 'torch capability ' in out
    assert 'bf16 native' in out or 'bf16 emulated' in out
    assert '| precision | source | op | GFLOP/s (int8: GOP/s) | note |' in out
    with pytest.raises(SystemExit):
        gemm_rate.main(['--threads', '0'])


def test_help():
    text = gemm_rate.build_parser().format_help()
    assert 'examples:' in text and 'gemm_rate.py' in text
    assert '(default: 2)' in text
