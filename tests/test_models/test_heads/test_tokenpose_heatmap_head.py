# Copyright (c) simdr_ext contributors. All rights reserved.
import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData, PixelData

from mmpose.registry import MODELS
from mmpose.structures import PoseDataSample
from simdr_ext.models.heads.tokenpose_heatmap_head import (
    TokenPoseHeatmapHead, authors_hidden_dim)

K, D = 5, 32
INPUT_SIZE, HEATMAP_SIZE = (48, 64), (12, 16)  # (w, h), (W, H)
FLIP = [0, 2, 1, 4, 3]


def codec(heatmap_size=HEATMAP_SIZE):
    return dict(
        type='DarkHeatmap',
        input_size=INPUT_SIZE,
        heatmap_size=heatmap_size,
        sigma=2)


def build(**kwargs) -> TokenPoseHeatmapHead:
    cfg = dict(
        type='TokenPoseHeatmapHead',
        in_channels=D,
        out_channels=K,
        decoder=codec())
    cfg.update(kwargs)
    head = MODELS.build(cfg)
    head.init_weights()
    return head


def tokens(batch=2, seed=0):
    return (torch.randn(
        batch, K, D, generator=torch.Generator().manual_seed(seed)), )


def samples(head, batch=2, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(batch):
        # kept away from the borders, as mmpose's 0.1 + 0.8 * rand
        kp = (0.1 + 0.8 * rng.random((1, K, 2))) * np.array(INPUT_SIZE)
        vis = np.ones((1, K))
        vis[0, -1] = 0  # one invisible keypoint: weight 0
        enc = head.decoder.encode(kp, vis)
        s = PoseDataSample(metainfo=dict(flip_indices=FLIP))
        s.gt_fields = PixelData(heatmaps=torch.from_numpy(enc['heatmaps']))
        s.gt_instance_labels = InstanceData(
            keypoint_weights=torch.from_numpy(enc['keypoint_weights']))
        out.append(s)
    return out


def test_registered():
    assert MODELS.get('TokenPoseHeatmapHead') is TokenPoseHeatmapHead


@pytest.mark.parametrize(
    'in_channels,heatmap_size,hidden,n_layers', [(192, (48, 64), 384, 4),
                                                 (192, (16, 16), None, 2),
                                                 (192, (32, 32), None, 2),
                                                 (576, (48, 64), None, 2)],
    ids=['S-64x48', 'S-16x16', 'S-32x32', 'L-576'])
def test_authors_layer_rule(in_channels, heatmap_size, hidden, n_layers):
    """hidden = H W // 8, two layers iff D <= hidden / 2 (tokenpose_base)."""
    assert authors_hidden_dim(in_channels,
                              heatmap_size[0] * heatmap_size[1]) == hidden
    head = TokenPoseHeatmapHead(in_channels, 17,
                                dict(codec(heatmap_size), input_size=(48, 64)))
    assert len(head.mlp_head) == n_layers
    assert head.mlp_head[-1].out_features == heatmap_size[0] * heatmap_size[1]
    if hidden:
        assert head.mlp_head[1].out_features == hidden


def test_forward_shape_and_layout():
    head = build()
    feats = tokens()
    heatmaps = head(feats)
    assert heatmaps.shape == (2, K, 16, 12)  # (B, K, H, W)
    # row-major: element (h, w) is output h * W + w of the MLP
    flat = head.mlp_head(feats[0])
    torch.testing.assert_close(heatmaps[1, 3, 5, 7], flat[1, 3, 5 * 12 + 7])


def test_heatmap_size_is_read_from_the_decoder():
    head = build(decoder=codec((24, 32)))
    assert head.heatmap_size == (24, 32)
    assert head(tokens()).shape == (2, K, 32, 24)


def test_rejects_wrong_tokens_and_decoder():
    head = build()
    with pytest.raises(ValueError, match=r'\(B, 5, 32\)'):
        head((torch.randn(2, K, D + 1), ))
    with pytest.raises(ValueError, match='decoder SimDRLabel: it needs a '):
        build(decoder=dict(type='SimDRLabel', input_size=INPUT_SIZE))
    with pytest.raises(TypeError, match="unexpected keyword .*'heatmap_size'"):
        build(heatmap_size=HEATMAP_SIZE)


def test_loss_by_hand_and_every_parameter_gets_gradient():
    torch.manual_seed(0)
    head = build()
    data = samples(head)
    feats = tokens()
    losses = head.loss(feats, data)
    assert set(losses) == {'loss_kpt', 'acc_pose'}
    loss = losses['loss_kpt']
    assert loss.ndim == 0 and torch.isfinite(loss)
    # KeypointMSELoss(use_target_weight=True): mean of w * (pred - gt)^2
    pred = head(feats).detach()
    gt = torch.stack([d.gt_fields.heatmaps for d in data])
    w = torch.cat([d.gt_instance_labels.keypoint_weights for d in data])
    want = ((pred - gt)**2 * w[:, :, None, None]).mean()
    torch.testing.assert_close(loss.detach(), want)
    assert 0.0 <= float(losses['acc_pose']) <= 1.0
    loss.backward()
    for name, p in head.named_parameters():
        assert p.grad is not None, f'{name} got no gradient'


def test_predict_shapes_in_input_pixels():
    head = build()
    head.eval()
    preds = head.predict(tokens(), samples(head), dict(flip_test=False))
    assert len(preds) == 2
    for p in preds:
        assert p.keypoints.shape == (1, K, 2)
        assert p.keypoint_scores.shape == (1, K)
        # DARK keeps a keypoint where it rounds onto the map: heatmap px
        # >= -0.5, i.e. input px >= -0.5 * lambda (lambda = 48 / 12 = 4)
        assert np.all(p.keypoints >= -0.5 * INPUT_SIZE[0] / HEATMAP_SIZE[0])
        assert np.all(p.keypoints[..., 0] <= INPUT_SIZE[0])
        assert np.all(p.keypoints[..., 1] <= INPUT_SIZE[1])


def test_flip_test_averages_mirrored_shifted_heatmaps():
    """Flip test written out in numpy: mirror x, swap left/right keypoints,
    shift one pixel right (the authors' SHIFT_HEATMAP, default on)."""
    head = build()
    head.eval()
    feats, feats_flip = tokens(seed=0), tokens(seed=1)
    data = samples(head)
    with torch.no_grad():
        preds = head.predict([feats, feats_flip], data,
                             dict(flip_test=True, output_heatmaps=True))
        hm = head(feats).numpy()
        hm_flip = head(feats_flip).numpy()[:, FLIP, :, ::-1]
    shifted = hm_flip.copy()
    shifted[..., 1:] = hm_flip[..., :-1]
    want = (hm + shifted) / 2
    instances, fields = preds
    for i, (inst, field) in enumerate(zip(instances, fields)):
        np.testing.assert_allclose(
            field.heatmaps.numpy(), want[i], rtol=1e-5, atol=1e-6)
        kp, score = head.decoder.decode(want[i])
        np.testing.assert_allclose(inst.keypoints, kp, rtol=1e-4, atol=1e-3)
        np.testing.assert_allclose(inst.keypoint_scores, score, rtol=1e-5)


def test_a_batch_of_zero_crops_is_refused_by_name():
    head = build()
    empty = (torch.zeros(0, K, D), )
    match = 'TokenPoseHeatmapHead got a batch of 0'
    with pytest.raises(ValueError, match=match):
        head.forward(empty)
    with pytest.raises(ValueError, match=match):
        head.predict(empty, [])
    with pytest.raises(ValueError, match=match):
        head.predict([empty, empty], [], dict(flip_test=True))


def test_compute_acc_false_gives_no_accuracy():
    head = build()
    losses = head.loss(tokens(), samples(head), dict(compute_acc=False))
    assert set(losses) == {'loss_kpt'}


def test_accuracy_is_one_for_the_targets_and_drops_for_shifted_ones():
    head = build()
    data = samples(head)
    gt = torch.stack([d.gt_fields.heatmaps for d in data])
    head.forward = lambda _: gt
    assert head.loss(tokens(), data)['acc_pose'].item() == 1.0
    # keypoints 0 and 1 moved 2 heatmap px = 8 input px right: 8 / 64 > 0.05
    # (mmpose normalises x by h); 2 and 3 still hit, 4 has weight 0
    shifted = gt.clone()
    shifted[:, :2] = gt[:, :2].roll(2, -1)
    head.forward = lambda _: shifted
    assert head.loss(tokens(), data)['acc_pose'].item() == pytest.approx(0.5)
