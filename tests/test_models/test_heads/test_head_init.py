# Copyright (c) simdr_ext contributors. All rights reserved.
"""SimDRHead initialisation: the init_cfg of each ``head_init`` choice
gives the SimDR linear layers (``mlp_head_x`` / ``mlp_head_y``) the
closed-form statistics, within Z = 5 standard errors of the sample std.

- 'torch_default': no Linear entry, PyTorch's ``nn.Linear`` default
  (kaiming_uniform_(a=sqrt(5))): weight and bias ~ U(-b, b),
  b = 1 / sqrt(fan_in), std b / sqrt(3) = 1 / sqrt(3 fan_in). The SimDR
  authors' models leave the linear layers so: SimCC lib/models/
  pose_resnet.py init_weights l.227-264, pose_resnet_upfree.py l.174-193,
  pose_hrnet.py l.477-492 touch only Conv2d (normal, std 0.001, bias 0),
  ConvTranspose2d (normal, std 0.001) and BatchNorm2d (1, 0).
- 'trunc_normal_0.02': TokenPose lib/models/tokenpose_base.py
  _init_weights l.220-228 (timm trunc_normal_(std=.02), absolute cut-offs
  +-2; bias 0; LayerNorm 1, 0), applied when MODEL.INIT (l.151-152).
- 'normal_0.01': SimDRHead.default_init_cfg (mmpose's SimCCHead's).
"""
import math

import pytest
import torch
from mmengine.registry import init_default_scope

from mmpose.registry import MODELS

Z = 5.0
CONV_BN = [
    dict(type='Normal', layer=['Conv2d', 'ConvTranspose2d'], std=0.001),
    dict(type='Constant', layer='BatchNorm2d', val=1),
]
INIT_CFGS = {
    'torch_default': CONV_BN,
    'trunc_normal_0.02': [
        dict(type='TruncNormal', layer='Linear', std=0.02, bias=0),
        dict(type='Constant', layer='LayerNorm', val=1, bias=0),
    ] + CONV_BN,
    'normal_0.01': None,  # SimDRHead.default_init_cfg
}
# the encoder forms: (head arguments, fan_in of the linear layers)
CODEC = dict(type='SimDRLabel', input_size=(192, 256), split_ratio=2.0)
FAMILIES = {
    # SimpleBaseline: deconvs to a stride-4 map, 1x1 conv; D = 64 x 48
    'resnet_deconv': (dict(in_channels=32, deconv_out_channels=(8, 8, 8)),
                      64 * 48),
    # upsample-free: 1x1 conv to K t maps at stride 32, t = 28; D = 28 x 8 x 6
    'resnet_upsample_free': (dict(in_channels=64, deconv_out_channels=None,
                                  channels_per_joint=28), 28 * 8 * 6),
    # HRNet: 1x1 conv on the stride-4 branch; D = 64 x 48
    'hrnet': (dict(in_channels=32, deconv_out_channels=None,
                   in_featuremap_stride=4), 64 * 48),
    # TokenPose keypoint tokens of D = 192
    'tokenpose': (dict(in_channels=None, embedding_dim=192,
                       deconv_out_channels=None), 192),
}


@pytest.fixture(autouse=True)
def mmpose_scope():
    init_default_scope('mmpose')


def build_head(family, init_cfg, seed=0):
    kwargs, fan_in = FAMILIES[family]
    torch.manual_seed(seed)
    head = MODELS.build(
        dict(type='SimDRHead', out_channels=17, decoder=CODEC,
             init_cfg=init_cfg, **kwargs))
    head.init_weights()
    assert head.mlp_head_x.in_features == fan_in
    return head


def std_within(x, sigma, kurtosis):
    """Sample std of ``x`` within Z SE of sigma; SE(std) = sigma
    sqrt((kurtosis - 1) / (4 n)) for a zero-mean law of that kurtosis
    (3 normal, 9/5 uniform)."""
    x = x.detach().double().flatten()
    se = sigma * math.sqrt((kurtosis - 1) / (4 * x.numel()))
    return abs(x.pow(2).mean().sqrt().item() - sigma) <= Z * se


def rule_holds(choice, layer):
    """The closed form of ``choice`` for one nn.Linear."""
    w, b = layer.weight, layer.bias
    if choice == 'torch_default':
        bound = 1 / math.sqrt(layer.in_features)
        return (std_within(w, bound / math.sqrt(3), 9 / 5)
                and w.abs().max().item() <= bound
                and w.abs().max().item() > 0.99 * bound
                and std_within(b, bound / math.sqrt(3), 9 / 5)
                and b.abs().max().item() <= bound and bool(b.any()))
    std = 0.02 if choice == 'trunc_normal_0.02' else 0.01
    return (std_within(w, std, 3.0) and abs(w.mean().item()) < Z * std /
            math.sqrt(w.numel()) and not b.any())


@pytest.mark.parametrize('family', FAMILIES)
@pytest.mark.parametrize('choice', INIT_CFGS)
def test_linear_layers_follow_the_closed_form(family, choice):
    head = build_head(family, INIT_CFGS[choice])
    for layer in (head.mlp_head_x, head.mlp_head_y):
        assert rule_holds(choice, layer)
        # and no other choice's rule: the check can fail
        for other in INIT_CFGS:
            if other != choice:
                assert not rule_holds(other, layer), other


@pytest.mark.parametrize('family', ['resnet_deconv', 'resnet_upsample_free',
                                    'hrnet'])
@pytest.mark.parametrize('choice', INIT_CFGS)
def test_convolutions_are_the_authors(family, choice):
    """Every choice keeps the authors' conv init: normal(0, 0.001), bias
    0 (pose_resnet.py l.243-248, pose_hrnet.py l.480-484), BatchNorm 1, 0."""
    head = build_head(family, INIT_CFGS[choice])
    convs = [m for m in head.modules()
             if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
    assert convs
    for conv in convs:
        assert std_within(conv.weight, 0.001, 3.0)
        assert conv.bias is None or not conv.bias.any()
    for bn in (m for m in head.modules()
               if isinstance(m, torch.nn.BatchNorm2d)):
        assert (bn.weight == 1).all() and not bn.bias.any()


def test_an_empty_init_cfg_means_the_default():
    """``init_cfg=[]`` falls back to SimDRHead.default_init_cfg: token
    heads state 'torch_default' with a list that names no Linear."""
    head = build_head('tokenpose', [])
    assert rule_holds('normal_0.01', head.mlp_head_x)
