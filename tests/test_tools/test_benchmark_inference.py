# Copyright (c) simdr_ext contributors. All rights reserved.
"""The inference benchmark times the package's batched API
(``simdr_ext.apis``; its own tests are in ``tests/test_apis``) against
mmpose's paths, the ONNX runtime and the forward floor."""
import simdr_ext.apis
from tools.analysis import benchmark_inference


def test_benchmark_times_the_package_api():
    assert benchmark_inference.BatchedTopdownInferencer is \
        simdr_ext.apis.BatchedTopdownInferencer


def test_benchmark_prints_every_path_and_goal(quickstart_config, capsys):
    benchmark_inference.main([
        '--config', quickstart_config, '--num-crops', '12', '--threads', '1',
        '--rounds', '1', '--sizes'
    ])
    out = capsys.readouterr().out
    assert 'simdr_res18_1xb12-300e_coco-mini-128x96.py' in out
    assert '12 crops per pass over 4 images' in out
    for path in ('(a) mmpose inference_topdown', '(b) mmpose MMPoseInferencer',
                 '(c) batched API', '(d) ONNX runtime',
                 '(e) forward only (floor)'):
        assert f'| {path} |' in out
    assert out.count('| (c) batched API |') == 3
    assert '(c) >= 1.1x (a) (best B)' in out
    assert 'SimDR upsample-free vs heatmap' not in out
