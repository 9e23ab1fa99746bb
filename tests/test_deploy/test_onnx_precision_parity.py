# Copyright (c) simdr_ext contributors. All rights reserved.
"""fp16 and int8 exports against the float32 export, all in onnxruntime,
on the bundled people, with a peaked (trained) quickstart model."""
import pytest

pytest.importorskip(
    'onnxruntime', reason='onnxruntime is an optional extra '
    '(requirements/onnx.txt; tools/setup_env.sh installs it)')

pytestmark = pytest.mark.slow


def test_fp16_and_int8_parity_with_fp32(peaked_checkpoint,
                                        pose_model_factory, tmp_path):
    from tools.deploy.export_onnx import format_parity, precision_parity
    model = pose_model_factory('simdr', peaked_checkpoint)
    result = precision_parity(model, str(tmp_path))
    print(format_parity(result))
    coco = result['coco_det']
    assert coco['fp16']['num_keypoints'] == 118 * 17
    # the goal, met by fp16: >= 99 % of keypoints within 0.5 input px
    assert coco['fp16']['within_0.5'] >= 0.99
    assert coco['fp16']['max_score_diff'] < 0.01
    # int8 misses the goal: an argmax of a flat SimDR distribution moves
    # to another mode (tens of px) for ~3 % of keypoints (97.3 % within
    # 0.5 px for the 300-epoch checkpoint); the floor guards against a
    # broken quantization (naive per-channel int8 without reduce_range:
    # 77 %)
    assert coco['int8']['within_0.5'] >= 0.93
    assert coco['int8']['max_score_diff'] < 0.05
    for name in ('crowdpose', 'mpii'):
        assert set(result[name]) == {'fp16', 'int8'}
