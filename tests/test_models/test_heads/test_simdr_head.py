# Copyright (c) simdr_ext contributors. All rights reserved.
import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData

from mmpose.registry import MODELS
from mmpose.structures import PoseDataSample

INPUT_SIZE = (48, 64)  # (w, h): ResNet stride-32 map is 2 x 2


def build(**kwargs):
    cfg = dict(
        type='SimDRHead',
        in_channels=32,
        out_channels=5,
        input_size=INPUT_SIZE,
        split_ratio=2.0,
        deconv_out_channels=(16, 16),
        deconv_kernel_sizes=(4, 4),
        decoder=dict(
            type='SimDRLabel', input_size=INPUT_SIZE, split_ratio=2.0,
            label_smoothing=0.1))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def feats(batch=2):
    return (torch.randn(batch, 32, 2, 2), )


def samples(head, batch=2, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(batch):
        kp = 5 + rng.random((1, 5, 2)) * 38
        enc = head.decoder.encode(kp, np.ones((1, 5)))
        s = PoseDataSample(metainfo=dict(flip_indices=[0, 2, 1, 4, 3]))
        s.gt_instance_labels = InstanceData(
            **{k: torch.from_numpy(v) for k, v in enc.items()})
        out.append(s)
    return out


@pytest.mark.parametrize('deconvs,map_size', [((16, 16), (8, 8)),
                                              ((), (2, 2)),
                                              (None, (2, 2))],
                         ids=['2-deconv', 'empty', 'none'])
def test_output_shapes(deconvs, map_size):
    head = build(deconv_out_channels=deconvs)
    px, py = head(feats())
    assert px.shape == (2, 5, 96) and py.shape == (2, 5, 128)
    assert head.featuremap_size == map_size
    assert head.mlp_head_x.in_features == map_size[0] * map_size[1]


def test_channels_per_joint_upsample_free():
    head = build(deconv_out_channels=None, channels_per_joint=4)
    assert head.embedding_dim == 4 * 2 * 2
    px, _ = head(feats())
    assert px.shape == (2, 5, 96)


def test_loss_is_finite_and_every_parameter_gets_gradient():
    torch.manual_seed(0)
    head = build()
    head.init_weights()
    losses = head.loss(feats(), samples(head))
    assert set(losses) == {'loss_kpt', 'acc_pose'}
    assert losses['loss_kpt'].ndim == 0 and torch.isfinite(losses['loss_kpt'])
    losses['loss_kpt'].backward()
    for name, p in head.named_parameters():
        assert p.grad is not None, f'{name} got no gradient'


def test_predict_with_and_without_flip():
    torch.manual_seed(0)
    head = build().eval()
    data = samples(head)
    f = feats()
    preds = head.predict(f, data)
    assert len(preds) == 2
    assert preds[0].keypoints.shape == (1, 5, 2)
    assert preds[0].keypoint_scores.shape == (1, 5)
    assert np.all((preds[0].keypoint_scores > 0)
                  & (preds[0].keypoint_scores <= 1))
    flipped = head.predict([f, f], data, test_cfg=dict(flip_test=True))
    assert flipped[0].keypoints.shape == (1, 5, 2)


def test_decoder_disagreeing_with_head_raises():
    with pytest.raises(ValueError, match='SimDRHead got .* its decoder'):
        build(split_ratio=3.0)


def test_feature_map_of_wrong_size_is_reported():
    head = build()
    with pytest.raises(ValueError, match='expects a 8x8 .w x h. map'):
        head((torch.randn(1, 32, 3, 2), ))


def test_non_power_of_two_stride_raises():
    with pytest.raises(ValueError, match='power of 2'):
        build(in_featuremap_stride=12)
