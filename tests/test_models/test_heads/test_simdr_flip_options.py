# Copyright (c) simdr_ext contributors. All rights reserved.
"""SimDRHead test_cfg ``flip_fusion`` / ``flip_shift`` with the codecs'
score options, against the authors' validation loops transcribed from
SimCC (leeyegy/SimCC aa6e089) ``lib/core/function.py``: validate_sa_simdr
l.113-161 and validate_simdr l.308-358, with ``flip_back_simdr`` of
``lib/utils/transforms.py`` l.35-50."""
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope

from mmpose.registry import DATASETS, MODELS
from mmpose.structures import PoseDataSample
from simdr_ext.models.heads.simdr_head import (flip_simdr_vectors,
                                               fuse_flipped)

COCO = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'data',
    'coco')
COCO_FLIP = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]
COCO_PAIRS = [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10], [11, 12], [13, 14],
              [15, 16]]


def flip_back_simdr(output, pairs, axis):
    """SimCC lib/utils/transforms.py flip_back_simdr l.42-50."""
    output = output.copy()
    if axis == 'x':
        output = output[:, :, ::-1]
    for a, b in pairs:
        tmp = output[:, a, :].copy()
        output[:, a, :] = output[:, b, :]
        output[:, b, :] = tmp
    return output


def authors_validate(ox, oy, oxf_, oyf_, k, shift, simdr):
    """SimCC lib/core/function.py: validate_simdr l.311-325, l.347-358
    (``simdr``) or validate_sa_simdr l.116-128, l.152-161: keypoints in
    input pixels (B, K, 2) and scores (B, K)."""
    oxf = torch.from_numpy(
        flip_back_simdr(oxf_.numpy(), COCO_PAIRS, 'x').copy())  # l.316
    oyf = torch.from_numpy(
        flip_back_simdr(oyf_.numpy(), COCO_PAIRS, 'y').copy())
    if shift:  # TEST.SHIFT_HEATMAP, l.124-126 / l.320-322
        oxf[:, :, 0:-1] = oxf.clone()[:, :, 1:]
    if simdr:  # l.324-325
        px = (F.softmax(ox, dim=2) + F.softmax(oxf, dim=2)) * 0.5
        py = (F.softmax(oy, dim=2) + F.softmax(oyf, dim=2)) * 0.5
    else:  # l.127-128
        px = F.softmax((ox + oxf) * 0.5, dim=2)
        py = F.softmax((oy + oyf) * 0.5, dim=2)
    max_val_x, preds_x = px.max(2, keepdim=True)
    max_val_y, preds_y = py.max(2, keepdim=True)
    mask = max_val_x < max_val_y if simdr else max_val_x > max_val_y
    max_val_x[mask] = max_val_y[mask]  # l.351-352 (max) / l.155-156 (min)
    out = torch.ones([ox.size(0), preds_x.size(1), 2])
    out[:, :, 0] = torch.squeeze(torch.true_divide(preds_x, k))
    out[:, :, 1] = torch.squeeze(torch.true_divide(preds_y, k))
    return out.numpy(), max_val_x[..., 0].numpy()


def crop_head(codec):
    """A seeded SimDRHead reading 3-channel 48x64 crops (stride 1, a 1x1
    conv to 17 maps): D = 3072."""
    torch.manual_seed(0)
    head = MODELS.build(
        dict(type='SimDRHead', in_channels=3, out_channels=17,
             in_featuremap_stride=1, deconv_out_channels=None,
             decoder=codec)).eval()
    with torch.no_grad():
        head.final_layer.weight.normal_(std=1.0)
        for layer in (head.mlp_head_x, head.mlp_head_y):
            layer.weight.normal_(std=0.05)
    return head


def bundled_crops():
    """Normalised 48x64 crops (B, 3, 64, 48) of the bundled COCO people."""
    init_default_scope('mmpose')
    ds = DATASETS.build(
        dict(type='CocoDataset', data_root=COCO, ann_file='test_coco.json',
             data_mode='topdown', data_prefix=dict(img=''), test_mode=True,
             pipeline=[
                 dict(type='LoadImage'),
                 dict(type='GetBBoxCenterScale'),
                 dict(type='TopdownAffine', input_size=(48, 64)),
                 dict(type='PackPoseInputs')
             ]))
    inputs = pseudo_collate([ds[i] for i in range(len(ds))])['inputs']
    x = torch.stack(inputs).float()
    return (x - x.mean()) / x.std()


def random_crops():
    g = torch.Generator().manual_seed(1)
    return torch.randn(6, 3, 64, 48, generator=g)


def head_predict(head, crops, **test_cfg):
    samples = [PoseDataSample(metainfo=dict(flip_indices=COCO_FLIP))]
    with torch.no_grad():
        preds = head.predict([(crops, ), (crops.flip(-1), )], samples,
                             dict(flip_test=True, **test_cfg))
    return (np.concatenate([p.keypoints for p in preds]),
            np.concatenate([p.keypoint_scores for p in preds]))


def raw_outputs(head, crops):
    with torch.no_grad():
        return head((crops, )) + head((crops.flip(-1), ))


@pytest.mark.parametrize('crops', [random_crops, bundled_crops],
                         ids=['random', 'bundled'])
def test_simdr_matches_validate_simdr(crops):
    """SimDR: mean of the softmaxes, one-bin shift, larger axis score."""
    crops = crops()
    head = crop_head(
        dict(type='SimDRLabel', input_size=(48, 64), split_ratio=2.0,
             keypoint_score='max', score_scale='probability'))
    kpts, scores = head_predict(head, crops, flip_fusion='softmax',
                                flip_shift='one_bin')
    ref_kpts, ref_scores = authors_validate(*raw_outputs(head, crops), 2.0,
                                            True, True)
    np.testing.assert_array_equal(kpts, ref_kpts)
    np.testing.assert_allclose(scores, ref_scores, rtol=1e-5)
    # the logit fusion (the default) scores otherwise: the option matters
    _, other = head_predict(head, crops, flip_shift='one_bin')
    assert not np.allclose(other, ref_scores, rtol=1e-3)


@pytest.mark.parametrize('crops', [random_crops, bundled_crops],
                         ids=['random', 'bundled'])
def test_sasimdr_matches_validate_sa_simdr(crops):
    """SimDR*: softmax of the mean logits, one-bin shift, smaller axis
    score on the probability scale."""
    crops = crops()
    head = crop_head(
        dict(type='SASimDRLabel', input_size=(48, 64), split_ratio=2.0,
             sigma=4.0, keypoint_score='min', score_scale='probability'))
    kpts, scores = head_predict(head, crops, flip_fusion='logits',
                                flip_shift='one_bin')
    ref_kpts, ref_scores = authors_validate(*raw_outputs(head, crops), 2.0,
                                            True, False)
    np.testing.assert_array_equal(kpts, ref_kpts)
    np.testing.assert_allclose(scores, ref_scores, rtol=1e-5)


@pytest.mark.parametrize('k', [2.0, 3.0, 1.5])
def test_one_bin_shift_is_shift_heatmap(k):
    """l.124-126: flipped x vectors move one bin left, the last bin kept,
    whatever k; 'none' only reverses (mmpose's flip_vectors)."""
    g = torch.Generator().manual_seed(2)
    x = torch.randn(2, 17, round(48 * k), generator=g)
    y = torch.randn(2, 17, round(64 * k), generator=g)
    one_x, one_y = flip_simdr_vectors(x, y, COCO_FLIP, 48, k, 'one_bin')
    ref = torch.from_numpy(
        flip_back_simdr(x.numpy(), COCO_PAIRS, 'x').copy())
    none_x, _ = flip_simdr_vectors(x, y, COCO_FLIP, 48, k, 'none')
    assert torch.equal(none_x, ref)
    ref[:, :, 0:-1] = ref.clone()[:, :, 1:]
    assert torch.equal(one_x, ref)
    assert torch.equal(
        one_y,
        torch.from_numpy(flip_back_simdr(y.numpy(), COCO_PAIRS, 'y').copy()))
    if k == 2.0:  # the exact realignment is one bin at k = 2
        exact_x, _ = flip_simdr_vectors(x, y, COCO_FLIP, 48, k, 'exact')
        assert torch.equal(exact_x, one_x)


def test_softmax_fusion_is_the_mean_softmax_even_for_extreme_logits():
    a = torch.tensor([[[0., 50., -1e4, -float('inf')]]])
    b = torch.tensor([[[3., -50., -1e4, -float('inf')]]])
    fused, = fuse_flipped((a, ), (b, ), 'softmax')[:1]
    mean = (a.softmax(-1) + b.softmax(-1)) * 0.5
    torch.testing.assert_close(fused.softmax(-1), mean)
    assert torch.isfinite(fused[..., :3]).all()
    assert fused[0, 0, 3] == -float('inf')


@pytest.mark.parametrize('key,value', [('flip_fusion', 'mean'),
                                       ('flip_fusion', None),
                                       ('flip_shift', 'half_bin'),
                                       ('flip_shift', True)])
def test_unknown_flip_options_name_the_key(key, value):
    head = crop_head(dict(type='SimDRLabel', input_size=(48, 64)))
    with pytest.raises(ValueError, match=f'{key}={value!r}'):
        head_predict(head, random_crops(), **{key: value})
    samples = [PoseDataSample(metainfo=dict(flip_indices=COCO_FLIP))]
    with pytest.raises(ValueError, match=key):  # without flip_test too
        head.predict((random_crops(), ), samples, {key: value})


def flip_bias_px(k, flip_shift, refine, width=48, sigma=2.0):
    """Mean |x error| (input px) of the fused decoding of a keypoint swept
    over a crop ``width`` px wide (0.01 px steps, away from the edges),
    when both the crop and its mirror predict a Gaussian log-density
    (``sigma`` bins) centred on the true bin: the error that the flip
    realignment leaves."""
    codec = dict(type='SASimDRLabel', input_size=(width, 64), split_ratio=k,
                 sigma=sigma, decode_refine=refine)
    decoder = MODELS.build(
        dict(type='SimDRHead', in_channels=None, out_channels=1,
             embedding_dim=4, deconv_out_channels=None,
             decoder=codec)).decoder
    xs = np.arange(10.0, width - 10.0, 0.01)
    bins = torch.arange(decoder.num_bins[0], dtype=torch.float64)

    def peaks(centres):
        return (-(bins - torch.from_numpy(centres)[:, None])**2 /
                (2 * sigma**2)).float()[:, None]

    orig = peaks(xs * k)
    mirrored = peaks((width - 1 - xs) * k)
    y = torch.zeros(len(xs), 1, decoder.num_bins[1])
    back, _ = flip_simdr_vectors(mirrored, y, [0], width, k, flip_shift)
    fused, = fuse_flipped((orig, ), (back, ), 'logits')
    kpts, _ = decoder.decode(fused.numpy(), y.numpy())
    return float(np.abs(kpts[:, 0, 0] - xs).mean())


@pytest.mark.parametrize('k', [3.0, 1.5])
def test_exact_realignment_removes_the_one_bin_bias(k):
    """With a sub-bin decoder (exact for these peaks) the fused x is off
    by half the misalignment: ``(s - 1) / 2`` bins for 'one_bin', ``s``
    = (L - 1) - (w - 1) k = 2 bins at k = 3 and 0.5 bins at k = 1.5, i.e.
    1/6 px both; 'exact' leaves none. With the plain argmax the bias adds
    to the quantisation error."""
    exact = flip_bias_px(k, 'exact', True)
    one_bin = flip_bias_px(k, 'one_bin', True)
    s = (round(48 * k) - 1) - 47 * k
    assert exact < 1e-3
    assert one_bin == pytest.approx(abs(s - 1) / 2 / k, abs=1e-3)
    exact_argmax = flip_bias_px(k, 'exact', False)
    one_bin_argmax = flip_bias_px(k, 'one_bin', False)
    assert one_bin_argmax > exact_argmax
    print(f'k={k}: mean |x error| px, sub-bin decoding: exact {exact:.4f}, '
          f'one_bin {one_bin:.4f}; argmax: exact {exact_argmax:.4f}, '
          f'one_bin {one_bin_argmax:.4f}')
