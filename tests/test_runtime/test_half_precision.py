# Copyright (c) simdr_ext contributors. All rights reserved.
"""Half precision that stays accurate: the fp16 export (network in float16,
softmax / argmax / refinement in float32) against float32 and against a
naive all-float16 graph, on the crops of the bundled detections."""
import numpy as np
import pytest

pytest.importorskip(
    'onnxruntime', reason='onnxruntime is an optional extra '
    '(requirements/onnx.txt; tools/setup_env.sh installs it)')


def bundled_crops(bundled_detections, input_size):
    """Float32 (N, 3, h, w) BGR crops of the 118 bundled detections."""
    from simdr_runtime.crops import (box_center_scale, crop_boxes,
                                     read_image, warp_matrices)
    crops = []
    for path, boxes in bundled_detections.items():
        center, scale = box_center_scale(boxes, input_size)
        crops.append(crop_boxes(read_image(path),
                                warp_matrices(center, scale, input_size),
                                input_size))
    return np.concatenate(crops).transpose(0, 3, 1, 2).astype(np.float32)


def test_fp16_parity_on_bundled_crops(trained_quickstart, pose_model_factory,
                                      bundled_detections, tmp_path):
    from tools.deploy.export_onnx import half_precision_parity
    model = pose_model_factory('simdr', trained_quickstart)
    crops = bundled_crops(bundled_detections, (96, 128))
    result = half_precision_parity(model, crops, str(tmp_path),
                                   tolerance=0.25)
    print(f'SimDR (trained quickstart), {result["num_keypoints"]} '
          f'keypoints within 0.25 input px of fp32: fp16 '
          f'{result["fp16"]:.4f} (max {result["max_px_fp16"]:.2f} px), '
          f'naive all-fp16 {result["fp16-naive"]:.4f} (max '
          f'{result["max_px_fp16-naive"]:.2f} px); max score difference '
          f'fp16 {result["max_score_diff_fp16"]:.2g}, naive '
          f'{result["max_score_diff_fp16-naive"]:.2g}; {result["backend"]}')
    assert result['num_keypoints'] == 118 * 17
    assert 0.0 <= result['fp16-naive'] <= 1.0
    # the goal: >= 99 % of keypoints within a quarter input pixel
    assert result['fp16'] >= 0.99
