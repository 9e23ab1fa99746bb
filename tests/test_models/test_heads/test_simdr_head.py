# Copyright (c) simdr_ext contributors. All rights reserved.
import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData

from mmpose.registry import KEYPOINT_CODECS, MODELS
from mmpose.structures import PoseDataSample
from simdr_ext.models.heads.simdr_head import flip_simdr_vectors, shift_bins

INPUT_SIZE = (48, 64)  # (w, h): ResNet stride-32 map is 2 x 2


def codec(input_size=INPUT_SIZE, split_ratio=2.0, **kwargs):
    return dict(
        type='SimDRLabel',
        input_size=input_size,
        split_ratio=split_ratio,
        label_smoothing=0.1,
        **kwargs)


def build(**kwargs):
    cfg = dict(
        type='SimDRHead',
        in_channels=32,
        out_channels=5,
        deconv_out_channels=(16, 16),
        deconv_kernel_sizes=(4, 4),
        decoder=codec())
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
        s.gt_instance_labels = InstanceData(**{
            k: torch.from_numpy(v)
            for k, v in enc.items()
        })
        out.append(s)
    return out


@pytest.mark.parametrize(
    'deconvs,map_size', [((16, 16), (8, 8)), ((), (2, 2)), (None, (2, 2))],
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


@pytest.mark.parametrize(
    'decoder', [
        codec(input_size=(40, 72), split_ratio=1.5),
        dict(
            type='SASimDRLabel',
            input_size=(40, 72),
            split_ratio=1.5,
            sigma=3.0)
    ],
    ids=['SimDRLabel', 'SASimDRLabel'])
def test_geometry_is_read_from_the_decoder(decoder):
    head = build(decoder=decoder, deconv_out_channels=None)
    assert head.input_size == (40, 72) and head.split_ratio == 1.5
    # stride-32 map of 40 x 72 px: ceil(40/32) x ceil(72/32) = 2 x 3
    assert head.featuremap_size == (2, 3)
    px, py = head((torch.randn(1, 32, 3, 2), ))
    assert px.shape == (1, 5, 60) and py.shape == (1, 5, 108)


@pytest.mark.parametrize(
    'kwargs,match',
    [(dict(
        decoder=dict(
            type='DarkHeatmap', input_size=(48, 64), heatmap_size=(12, 16))),
      'decoder DarkHeatmap: it needs a codec with .*split_ratio'),
     (dict(input_size=INPUT_SIZE), "unexpected keyword .*'input_size'"),
     (dict(split_ratio=2.0), "unexpected keyword .*'split_ratio'")],
    ids=['heatmap-decoder', 'input-size-arg', 'split-ratio-arg'])
def test_geometry_stated_outside_the_decoder_is_refused(kwargs, match):
    with pytest.raises((TypeError, ValueError), match=match):
        build(**kwargs)


def test_decoder_is_required():
    with pytest.raises(TypeError, match='decoder'):
        MODELS.build(dict(type='SimDRHead', in_channels=32, out_channels=5))


def test_feature_map_of_wrong_size_is_reported():
    head = build()
    with pytest.raises(ValueError, match='expects a 8x8 .w x h. map'):
        head((torch.randn(1, 32, 3, 2), ))


def test_non_power_of_two_stride_raises():
    with pytest.raises(ValueError, match='power of 2'):
        build(in_featuremap_stride=12)


# a 4-stage HRNet small enough for CPU tests (mmpose's HRNet): one block
# per branch, branch widths 8, 16, 32, 64
TINY_HRNET = dict(
    type='HRNet',
    in_channels=3,
    init_cfg=None,
    extra={
        f'stage{i}':
        dict(
            num_modules=1,
            num_branches=i,
            block='BASIC' if i > 1 else 'BOTTLENECK',
            num_blocks=(1, ) * i,
            num_channels=tuple(8 * 2**b for b in range(i)))
        for i in range(1, 5)
    })

# --- every encoder form of the paper -------------------------------------


@pytest.mark.parametrize(
    'input_size,embedding_dim', [((64, 64), 28 * 2 * 2),
                                 ((128, 128), 28 * 4 * 4), ((192, 256), 1344)],
    ids=['64x64', '128x128', '256x192'])
def test_upsample_free_embedding_matches_authors_head_input(
        input_size, embedding_dim):
    """Table 4: t = 28 maps per keypoint on the stride-32 map of ResNet-50;
    at 256x192 (8 x 6 map) that is the authors' HEAD_INPUT = 1344."""
    head = build(
        in_channels=64,
        out_channels=17,
        decoder=codec(input_size),
        deconv_out_channels=None,
        channels_per_joint=28)
    assert head.embedding_dim == embedding_dim
    assert head.final_layer.out_channels == 17 * 28
    w, h = head.featuremap_size
    px, py = head((torch.randn(1, 64, h, w), ))
    assert px.shape == (1, 17, input_size[0] * 2)
    assert py.shape == (1, 17, input_size[1] * 2)


def test_upsample_free_flattens_each_keypoints_maps_together():
    """Channel k t + j belongs to keypoint k ('b (k t) h w -> b k (t h w)')."""
    head = build(deconv_out_channels=None, channels_per_joint=3)
    x = torch.randn(1, 32, 2, 2)
    maps = head.final_layer(x)
    emb = head.embed((x, ))
    for k in range(5):
        torch.testing.assert_close(emb[0, k], maps[0,
                                                   3 * k:3 * k + 3].flatten())


@pytest.mark.parametrize(
    'input_size', [(64, 64), (96, 128), (192, 256)],
    ids=['64x64', '128x96', '256x192'])
def test_hrnet_form_reads_the_stride4_branch(input_size):
    """Sec. 4.1.1: HRNet's K-channel 1x1 output on its stride-4 branch, then
    the linear layers; a real (tiny) HRNet at every size, no size given."""
    backbone = MODELS.build(TINY_HRNET)
    head = build(
        in_channels=8,
        decoder=codec(input_size),
        in_featuremap_stride=4,
        deconv_out_channels=None)
    w, h = input_size
    assert head.featuremap_size == (w // 4, h // 4)
    assert head.mlp_head_x.in_features == (w // 4) * (h // 4)
    feats = backbone(torch.randn(1, 3, h, w))
    px, py = head(feats)
    assert px.shape == (1, 5, 2 * w) and py.shape == (1, 5, 2 * h)


@pytest.mark.parametrize(
    'input_size', [(72, 100), (48, 64), (50, 50)],
    ids=['100x72', '64x48', '50x50'])
def test_resnet_map_derived_at_sizes_not_divisible_by_32(input_size):
    """The stride-32 map of a real ResNet is ceil(n / 32) per axis; the head
    derives it, so no input size needs a hand-computed map size
    (open-mmlab/mmpose#2118)."""
    backbone = MODELS.build(
        dict(type='ResNet', depth=18, base_channels=8, init_cfg=None))
    for deconvs in [(8, ), None]:
        head = build(
            in_channels=64,
            decoder=codec(input_size),
            deconv_out_channels=deconvs,
            deconv_kernel_sizes=(4, ) if deconvs else None)
        w, h = input_size
        feats = backbone(torch.randn(1, 3, h, w))
        px, py = head(feats)
        assert px.shape == (1, 5, 2 * w) and py.shape == (1, 5, 2 * h)


# --- token embeddings (TokenPose) -----------------------------------------


def build_tokens(**kwargs):
    return build(
        in_channels=None, embedding_dim=24, deconv_out_channels=None, **kwargs)


def test_token_input_uses_only_the_linear_layers():
    head = build_tokens()
    assert head.embedding_dim == 24
    assert head.deconv_head is None and head.final_layer is None
    assert {n.split('.')[0]
            for n, _ in head.named_parameters()
            } == {'mlp_head_x', 'mlp_head_y'}
    tokens = torch.randn(2, 5, 24)
    px, py = head((tokens, ))
    assert px.shape == (2, 5, 96) and py.shape == (2, 5, 128)
    torch.testing.assert_close(px, head.mlp_head_x(tokens))


def test_token_input_loss_and_gradients():
    torch.manual_seed(0)
    head = build_tokens()
    head.init_weights()
    tokens = torch.randn(2, 5, 24, requires_grad=True)
    losses = head.loss((tokens, ), samples(head))
    assert torch.isfinite(losses['loss_kpt'])
    losses['loss_kpt'].backward()
    assert tokens.grad is not None
    for name, p in head.named_parameters():
        assert p.grad is not None, f'{name} got no gradient'


def test_token_input_predict_with_flip():
    head = build_tokens().eval()
    tokens = torch.randn(2, 5, 24)
    preds = head.predict([(tokens, ), (tokens, )],
                         samples(head),
                         test_cfg=dict(flip_test=True))
    assert preds[0].keypoints.shape == (1, 5, 2)


def test_in_channels_equal_to_embedding_dim_is_accepted():
    assert build(
        in_channels=24, embedding_dim=24,
        deconv_out_channels=None).embedding_dim == 24


@pytest.mark.parametrize(
    'shape,match', [((2, 5, 16), r'expects tokens of shape \(B, 5, 24\)'),
                    ((2, 4, 24), r'expects tokens of shape \(B, 5, 24\)'),
                    ((2, 24, 2, 2), r'expects tokens of shape \(B, 5, 24\)')],
    ids=['wrong-D', 'wrong-K', 'map-to-token-head'])
def test_token_shape_mismatch_raises(shape, match):
    with pytest.raises(ValueError, match=match):
        build_tokens()((torch.randn(*shape), ))


def test_tokens_given_to_a_map_head_raise():
    with pytest.raises(ValueError, match='build the head with embedding_dim'):
        build()((torch.randn(2, 5, 24), ))


@pytest.mark.parametrize(
    'kwargs,match',
    [(dict(in_channels=32, embedding_dim=24,
           deconv_out_channels=None), 'in_channels=32 and embedding_dim=24'),
     (dict(in_channels=None, embedding_dim=24), 'tokens take no conv'),
     (dict(
         in_channels=None,
         embedding_dim=24,
         deconv_out_channels=None,
         channels_per_joint=2), 'tokens take no conv'),
     (dict(in_channels=None, embedding_dim=0,
           deconv_out_channels=None), 'embedding_dim=0'),
     (dict(in_channels=None), 'in_channels=None'),
     (dict(deconv_out_channels=None,
           channels_per_joint=0), 'channels_per_joint=0'),
     (dict(channels_per_joint=2), 'takes no deconvolutions')],
    ids=[
        'in-channels-mismatch', 'token-with-deconvs', 'token-with-t',
        'zero-dim', 'no-in-channels', 'zero-t', 't-with-deconvs'
    ])
def test_invalid_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        build(**kwargs)


def test_parameter_names_equal_mmpose_simcc_head():
    """Same architecture, same state_dict keys and shapes as SimCCHead."""
    for deconvs in [(16, 16), None]:
        ours = build(deconv_out_channels=deconvs)
        theirs = MODELS.build(
            dict(
                type='SimCCHead',
                in_channels=32,
                out_channels=5,
                input_size=INPUT_SIZE,
                in_featuremap_size=(2, 2),
                simcc_split_ratio=2.0,
                deconv_out_channels=deconvs,
                deconv_kernel_sizes=(4, 4) if deconvs else None))
        assert {
            k: v.shape
            for k, v in ours.state_dict().items()
        } == {
            k: v.shape
            for k, v in theirs.state_dict().items()
        }


def test_output_heatmaps_returns_the_softmax_probability_of_each_bin():
    head = build().eval()
    preds = head.predict(
        feats(), samples(head), test_cfg=dict(output_heatmaps=True))
    px = preds[0].keypoint_x_probs
    assert px.shape == (1, 5, 96) and preds[0].keypoint_y_probs.shape == (1, 5,
                                                                          128)
    np.testing.assert_allclose(px.sum(-1), 1.0, rtol=1e-5)
    # the decoded x is the argmax bin of the returned distribution / k
    np.testing.assert_allclose(preds[0].keypoints[0, :, 0],
                               px[0].argmax(-1) / 2.0)


@pytest.mark.parametrize('token_input', [False, True], ids=['map', 'tokens'])
def test_a_batch_of_zero_crops_is_refused_by_name(token_input):
    if token_input:
        head = build_tokens()
        empty = (torch.zeros(0, 5, 24), )
    else:
        head = build()
        empty = (torch.zeros(0, 32, 2, 2), )
    with pytest.raises(ValueError, match='SimDRHead got a batch of 0'):
        head.forward(empty)
    with pytest.raises(ValueError, match='SimDRHead got a batch of 0'):
        head.predict(empty, [])
    with pytest.raises(ValueError, match='SimDRHead got a batch of 0'):
        head.predict([empty, empty], [], dict(flip_test=True))


# --- training accuracy, decoded by the head's own decoder -----------------


def labels_as_logits(data):
    labels = [d.gt_instance_labels for d in data]
    return (torch.cat([lb.keypoint_x_labels for lb in labels]),
            torch.cat([lb.keypoint_y_labels for lb in labels]))


def test_compute_acc_false_gives_no_accuracy():
    head = build()
    losses = head.loss(feats(), samples(head), dict(compute_acc=False))
    assert set(losses) == {'loss_kpt'}


@pytest.mark.parametrize(
    'decoder', [
        codec(),
        dict(
            type='SASimDRLabel',
            input_size=INPUT_SIZE,
            sigma=2.0,
            decode_refine=True)
    ],
    ids=['SimDRLabel', 'SASimDRLabel'])
def test_accuracy_is_one_for_the_targets_and_drops_for_shifted_ones(decoder):
    head = build(decoder=decoder)
    data = samples(head)
    pred_x, pred_y = labels_as_logits(data)
    head.forward = lambda _: (pred_x, pred_y)
    assert head.loss(feats(), data)['acc_pose'].item() == 1.0
    # keypoints 0 and 1 moved 4 px right: 4 / 64 (mmpose normalises x by h)
    # > 0.05, so they miss in every instance; 2, 3, 4 still hit
    shifted = pred_x.clone()
    shifted[:, :2] = pred_x[:, :2].roll(8, -1)
    head.forward = lambda _: (shifted, pred_y)
    assert head.loss(feats(), data)['acc_pose'].item() == pytest.approx(0.6)


def test_accuracy_ignores_zero_weight_keypoints():
    head = build()
    data = samples(head)
    pred_x, pred_y = labels_as_logits(data)
    pred_x = pred_x.clone()
    pred_x[:, 4] = pred_x[:, 4].roll(20, -1)  # miss keypoint 4 ...
    for d in data:  # ... which is invisible
        d.gt_instance_labels.keypoint_weights[:, 4] = 0
    head.forward = lambda _: (pred_x, pred_y)
    assert head.loss(feats(), data)['acc_pose'].item() == 1.0


def test_accuracy_equals_mmpose_simcc_pck_for_argmax_decoding():
    """SimDRLabel decodes argmax / k, as mmpose's simcc_pck_accuracy; on
    positive logits (mmpose marks maxima <= 0 invalid) the two agree."""
    from mmpose.evaluation.functional import simcc_pck_accuracy
    head = build()
    data = samples(head, batch=4)
    gt = labels_as_logits(data)
    gen = torch.Generator().manual_seed(0)
    # logits near the target, so that some keypoints hit and some miss
    pred = tuple(t * 3 + 4 * torch.rand(t.shape, generator=gen) for t in gt)
    head.forward = lambda _: pred
    weights = torch.cat([d.gt_instance_labels.keypoint_weights for d in data])
    _, want, _ = simcc_pck_accuracy(
        tuple(p.numpy() for p in pred), tuple(t.numpy() for t in gt), 2.0,
        weights.numpy() > 0)
    got = head.loss(feats(4), data)['acc_pose'].item()
    assert 0 < want < 1
    assert got == pytest.approx(want)


# --- flip test: SimDR vectors of a flipped crop -------------------------


@pytest.mark.parametrize('split_ratio', [1.0, 1.5, 2.0, 3.0])
def test_flipped_labels_map_back_to_the_original_bins(split_ratio):
    """Encode x, and its mirror w - 1 - x; flipping the mirror's labels
    must decode to x again (within the 1/(2k) quantisation, and the linear
    resampling of a fractional shift)."""
    w, h = 48, 64
    codec = KEYPOINT_CODECS.build(
        dict(type='SimDRLabel', input_size=(w, h), split_ratio=split_ratio))
    rng = np.random.default_rng(0)
    kp = 4 + rng.random((1, 3, 2)) * 40
    mirrored = kp.copy()
    mirrored[..., 0] = w - 1 - kp[..., 0]
    flip_indices = [0, 2, 1]
    mirrored = mirrored[:, flip_indices]
    enc = codec.encode(mirrored)
    fx, fy = flip_simdr_vectors(
        torch.from_numpy(enc['keypoint_x_labels']),
        torch.from_numpy(enc['keypoint_y_labels']), flip_indices, w,
        split_ratio)
    decoded, _ = codec.decode(fx.numpy(), fy.numpy())
    # each of the two encodings rounds by at most 1/(2k)
    assert np.abs(decoded - kp).max() <= 1.0 / split_ratio + 1e-4


def test_shift_bins_integer_and_fractional():
    v = torch.arange(5.0)[None]
    assert shift_bins(v, 1.0).tolist() == [[1, 2, 3, 4, 4]]
    assert shift_bins(v, 0.5).tolist() == [[0.5, 1.5, 2.5, 3.5, 4.0]]
    assert shift_bins(v, -1.0).tolist() == [[0, 0, 1, 2, 3]]


def test_wrong_flip_indices_length_raises():
    with pytest.raises(ValueError, match='flip_indices'):
        flip_simdr_vectors(
            torch.zeros(1, 3, 8), torch.zeros(1, 3, 8), [0, 1], 4, 2.0)
