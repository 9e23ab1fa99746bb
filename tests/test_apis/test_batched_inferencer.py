# Copyright (c) simdr_ext contributors. All rights reserved.
"""The batched top-down API gives mmpose's ``inference_topdown`` keypoints.

On the bundled COCO images and the bundled person detections
(``tests/data/coco/test_coco_det_AP_H_56.json``, 118 boxes over 4 images),
for a SimDR, a SimDR* and a DARK heatmap model with seeded random weights,
with and without flip test. Both paths warp the same pixels with the same
matrix and run the same float32 network; batching changes only the order
of float additions (~1e-6 relative in the outputs). SimDR keypoints are
bins / k and DARK keypoints sub-pixel refinements, so a disagreement
anywhere would show as >= 1 / k crop px, i.e. >= 0.1 image px here; 1e-3 px
leaves room for the float32 back-projection only.
"""
import os.path as osp

import cv2
import numpy as np
import pytest
import torch

from simdr_ext.apis import BatchedTopdownInferencer, batch_inference_topdown
from simdr_runtime import engine

# every test runs inference_topdown or the model on many crops
pytestmark = pytest.mark.slow


@pytest.mark.parametrize('kind', ['simdr', 'sasimdr', 'dark'])
@pytest.mark.parametrize('flip', [False, True])
def test_same_keypoints_as_inference_topdown(kind, flip, pose_model_factory,
                                             bundled_detections, monkeypatch):
    from mmpose.apis import inference_topdown
    model = pose_model_factory(kind)
    model.test_cfg['flip_test'] = flip
    boxes = bundled_detections
    assert sum(len(b) for b in boxes.values()) == 118

    reads = []
    read_image = engine.read_image
    monkeypatch.setattr(
        engine, 'read_image',
        lambda *a, **k: reads.append(a[0]) or read_image(*a, **k))
    # 7 does not divide any image's box count: batches straddle images
    results = batch_inference_topdown(
        model, list(boxes), list(boxes.values()), batch_size=7)
    assert sorted(reads) == sorted(boxes), 'each image is read once'
    monkeypatch.undo()

    worst = 0.0
    for (path, bxs), res in zip(boxes.items(), results):
        samples = inference_topdown(model, path, bxs)
        ref = np.concatenate([s.pred_instances.keypoints for s in samples])
        ref_scores = np.concatenate(
            [s.pred_instances.keypoint_scores for s in samples])
        assert res['keypoints'].shape == ref.shape == (len(bxs), 17, 2)
        np.testing.assert_array_equal(res['bboxes'], bxs)
        worst = max(worst, float(np.abs(res['keypoints'] - ref).max()))
        np.testing.assert_allclose(
            res['keypoint_scores'], ref_scores, atol=1e-4)
    print(f'{kind} flip={flip}: max |keypoints - inference_topdown| = '
          f'{worst:.2e} px')
    assert worst < 1e-3


def test_distributions_are_the_heads_softmax(pose_model_factory,
                                             bundled_detections):
    """``return_distributions`` gives what SimDRHead's ``output_heatmaps``
    gives through ``inference_topdown`` (softmax of the flip-averaged
    logits)."""
    from mmpose.apis import inference_topdown
    model = pose_model_factory('simdr')
    path, bxs = next(iter(bundled_detections.items()))
    res = BatchedTopdownInferencer(
        model, batch_size=4)(
            path, bxs[:5], return_distributions=True)[0]
    model.test_cfg['output_heatmaps'] = True
    samples = inference_topdown(model, path, bxs[:5])
    ref_x = np.concatenate(
        [s.pred_instances.keypoint_x_probs for s in samples])
    ref_y = np.concatenate(
        [s.pred_instances.keypoint_y_probs for s in samples])
    assert res['simcc_x'].shape == ref_x.shape == (5, 17, 192)
    np.testing.assert_allclose(res['simcc_x'], ref_x, atol=1e-6)
    np.testing.assert_allclose(res['simcc_y'], ref_y, atol=1e-6)
    np.testing.assert_allclose(res['simcc_x'].sum(-1), 1, atol=1e-5)


def test_images_without_boxes_and_arrays(pose_model_factory,
                                         bundled_detections):
    model = pose_model_factory('simdr')
    paths = list(bundled_detections)
    img = cv2.imread(paths[0])
    box = np.array([[10, 20, 110, 220]], np.float32)
    results = batch_inference_topdown(model, [img, paths[1], img],
                                      [box, None, np.zeros((0, 4))])
    assert results[0]['keypoints'].shape == (1, 17, 2)
    for res in results[1:]:
        assert res['keypoints'].shape == (0, 17, 2)
        assert res['keypoint_scores'].shape == (0, 17)
    # one array image with one box: the single-image form
    single = batch_inference_topdown(model, img, box)
    np.testing.assert_array_equal(single[0]['keypoints'],
                                  results[0]['keypoints'])


def test_bad_input_is_named(tmp_path, pose_model_factory):
    model = pose_model_factory('simdr')
    infer = BatchedTopdownInferencer(model)
    empty = tmp_path / 'empty.jpg'
    empty.write_bytes(b'')
    box = np.array([[10, 20, 110, 220]], np.float32)
    with pytest.raises(ValueError, match='empty.jpg: the file is empty'):
        infer([str(empty)], [box])
    corrupt = tmp_path / 'corrupt.jpg'
    corrupt.write_bytes(b'\xff\xd8 not a jpeg')
    with pytest.raises(ValueError, match='corrupt.jpg: its JPEG header ends or is corrupt'):
        infer([str(corrupt)], [box])
    with pytest.raises(FileNotFoundError, match='missing.jpg'):
        infer(['missing.jpg'], [box])
    with pytest.raises(ValueError, match='boxes of image 0.*no area'):
        infer([str(empty)], [np.array([[10, 20, 5, 220]])])
    with pytest.raises(ValueError, match=r'shape \(M, 4\)'):
        infer([str(empty)], [np.zeros((2, 3))])
    with pytest.raises(ValueError, match='2 images but 1 box'):
        infer([str(empty), str(empty)], [box])
    with pytest.raises(ValueError, match='batch_size'):
        BatchedTopdownInferencer(model, batch_size=0)(str(empty), box)


def test_fp16_needs_cuda(pose_model_factory, bundled_detections):
    model = pose_model_factory('simdr')
    if torch.cuda.is_available():
        infer = BatchedTopdownInferencer(model.cuda(), fp16=True)
        path, bxs = next(iter(bundled_detections.items()))
        res = infer(path, bxs)[0]
        ref = BatchedTopdownInferencer(model)(path, bxs)[0]
        near = np.abs(res['keypoints'] - ref['keypoints']).max(-1)
        print(f'CUDA fp16: {np.mean(near < 0.25):.3f} within 0.25 px')
        assert res['keypoints'].dtype == np.float32
    else:
        with pytest.raises(ValueError, match='needs a CUDA model'):
            BatchedTopdownInferencer(model, fp16=True)


@pytest.mark.parametrize('config', [
    'body_2d_keypoint/simcc/coco/simcc_res50_8xb64-210e_coco-256x192.py',
    'body_2d_keypoint/topdown_heatmap/coco/'
    'td-hm_res50_8xb64-210e_coco-256x192.py'
])
def test_mmpose_configs_and_codecs(config, bundled_detections):
    """mmpose's own SimCC and heatmap configs: their codecs (SimCCLabel,
    MSRAHeatmap) have no torch twin and decode as their heads do."""
    import mmpose
    from mmpose.apis import inference_topdown, init_model
    path = osp.join(osp.dirname(mmpose.__file__), '.mim', 'configs', config)
    torch.manual_seed(0)
    model = init_model(path, None, device='cpu')
    image, boxes = next(iter(bundled_detections.items()))
    boxes = boxes[:5]
    res = batch_inference_topdown(model, image, boxes, batch_size=2)[0]
    samples = inference_topdown(model, image, boxes)
    ref = np.concatenate([s.pred_instances.keypoints for s in samples])
    assert res['keypoints'].shape == ref.shape == (5, 17, 2)
    assert np.abs(res['keypoints'] - ref).max() < 1e-3
