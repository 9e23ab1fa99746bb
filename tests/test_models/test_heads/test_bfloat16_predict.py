# Copyright (c) simdr_ext contributors. All rights reserved.
"""Heads predict on bfloat16 outputs (CPU autocast, or a bf16 model): the
decoders read them in float32, so the keypoints are those of the same
outputs cast to float32."""
import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData

from mmpose.registry import MODELS
from mmpose.structures import PoseDataSample

K = 5
INPUT_SIZE = (48, 64)  # (w, h)
FLIP = [0, 2, 1, 4, 3]
SIMDR = dict(type='SimDRLabel', input_size=INPUT_SIZE, split_ratio=2.0)
SASIMDR = dict(
    type='SASimDRLabel',
    input_size=INPUT_SIZE,
    split_ratio=2.0,
    sigma=2.0,
    decode_refine=True)
DARK = dict(
    type='DarkHeatmap',
    input_size=INPUT_SIZE,
    heatmap_size=(12, 16),
    sigma=2.0,
    decode_mode='dark',
    blur_kernel_size=5)

HEADS = {
    'SimDRHead-SimDR': (dict(
        type='SimDRHead',
        in_channels=32,
        out_channels=K,
        deconv_out_channels=(16, ),
        deconv_kernel_sizes=(4, ),
        decoder=SIMDR), (2, 32, 2, 2)),
    'SimDRHead-SASimDR': (dict(
        type='SimDRHead',
        in_channels=32,
        out_channels=K,
        deconv_out_channels=(16, ),
        deconv_kernel_sizes=(4, ),
        decoder=SASIMDR), (2, 32, 2, 2)),
    'TokenPoseHeatmapHead-DARK': (dict(
        type='TokenPoseHeatmapHead',
        in_channels=32,
        out_channels=K,
        decoder=DARK), (2, K, 32)),
    # mmpose's heatmap head with the DARK codec (the configs' DARK models)
    'HeatmapHead-DARK': (dict(
        type='HeatmapHead',
        in_channels=32,
        out_channels=K,
        deconv_out_channels=(16, ),
        deconv_kernel_sizes=(4, ),
        decoder=DARK), (2, 32, 8, 6)),
}


def build(name):
    cfg, shape = HEADS[name]
    torch.manual_seed(0)
    head = MODELS.build(cfg)
    head.init_weights()
    feats = (torch.randn(shape, generator=torch.Generator().manual_seed(1)), )
    data = [PoseDataSample(metainfo=dict(flip_indices=FLIP,
                                         input_size=INPUT_SIZE))
            for _ in range(shape[0])]
    for sample in data:
        sample.gt_instance_labels = InstanceData()
    return head.eval(), feats, data


def as_float32(outputs):
    if isinstance(outputs, tuple):
        return tuple(o.float() for o in outputs)
    return outputs.float()


@pytest.mark.parametrize('flip_test', [False, True], ids=['plain', 'flip'])
@pytest.mark.parametrize('name', list(HEADS))
def test_predict_under_bfloat16_autocast(name, flip_test):
    head, feats, data = build(name)
    test_cfg = dict(flip_test=flip_test)
    inputs = [feats, tuple(f.flip(-1) for f in feats)] if flip_test else feats
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        outputs = head.forward(feats)
        preds = head.predict(inputs, data, test_cfg=test_cfg)
    first = outputs[0] if isinstance(outputs, tuple) else outputs
    assert first.dtype == torch.bfloat16, 'autocast did not apply'
    if not flip_test:
        expected = head.decode(as_float32(outputs))
        for pred, ref in zip(preds, expected):
            np.testing.assert_array_equal(pred.keypoints, ref.keypoints)
            np.testing.assert_array_equal(pred.keypoint_scores,
                                          ref.keypoint_scores)
    for pred in preds:
        assert pred.keypoints.dtype == np.float32
        assert pred.keypoints.shape == (1, K, 2)
        assert np.isfinite(pred.keypoints).all()


@pytest.mark.parametrize('name', list(HEADS))
def test_a_bfloat16_head_gives_the_keypoints_of_its_outputs_in_float32(name):
    """A head converted to bf16 (weights and features): the same
    keypoints as its bf16 outputs decoded after a cast to float32."""
    head, feats, data = build(name)
    head = head.to(torch.bfloat16)
    feats = tuple(f.to(torch.bfloat16) for f in feats)
    with torch.no_grad():
        outputs = head.forward(feats)
        preds = head.predict(feats, data, test_cfg=dict(flip_test=False))
        expected = head.decode(as_float32(outputs))
    for pred, ref in zip(preds, expected):
        np.testing.assert_array_equal(pred.keypoints, ref.keypoints)
        np.testing.assert_array_equal(pred.keypoint_scores,
                                      ref.keypoint_scores)


@pytest.mark.parametrize('name',
                         ['SimDRHead-SimDR', 'TokenPoseHeatmapHead-DARK'])
def test_output_distributions_of_bfloat16_outputs_are_float32(name):
    head, feats, data = build(name)
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        preds = head.predict(feats, data, test_cfg=dict(output_heatmaps=True))
    if isinstance(preds, tuple):  # heatmap heads: (instances, fields)
        fields = preds[1]
        assert all(f.heatmaps.dtype == torch.float32 for f in fields)
        fields[0].heatmaps.numpy()  # readable by numpy (visualisers)
    else:
        assert preds[0].keypoint_x_probs.dtype == np.float32
        np.testing.assert_allclose(preds[0].keypoint_x_probs.sum(-1), 1.0,
                                   rtol=1e-5)
