# Copyright (c) simdr_ext contributors. All rights reserved.
"""tools/model_converters/convert_authors_checkpoint.py on the authors' key
layouts.

The fixtures are the authors' real ``state_dict()`` layouts, written down as
data in ``tests/data/author_layouts/`` (derived from leeyegy/SimCC
``lib/models/pose_resnet.py``, ``pose_resnet_upfree.py``, ``pose_hrnet.py``,
from leeyegy/TokenPose ``ac939fa`` ``lib/models/pose_tokenpose_{t,s,b,l}.py``,
``tokenpose_base.py``, ``hr_base.py``, and from their experiment yamls; see
the README there), filled with seeded random values. Each is converted and
loaded with ``strict=True`` into the model of the matching config, built by
file name; then the output is compared with the authors' forward computed
functionally from the authors' state dict, in the order of their
``forward``: the SimDR head on one backbone feature map, TokenPose's
transformer and ``mlp_head`` on one stem output (no TokenPose weights were
released, leeyegy/TokenPose#4-#6).
"""
import functools
import json
import math
import os
import os.path as osp
import re
from collections import OrderedDict
from unittest import mock

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmpose.registry import MODELS
from tools.model_converters.convert_authors_checkpoint import (
    CONVERTERS, ConversionReport, UnmappedKeysError, check_against,
    convert_simdr, convert_tokenpose, main, tokenpose_base_key)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
LAYOUTS = osp.join(REPO, 'tests', 'data', 'author_layouts')
BN_EPS = 1e-5  # nn.BatchNorm2d's default, which the authors keep
LN_EPS = 1e-5  # nn.LayerNorm's default, which the authors keep


def simdr_case(layout: str,
               folder: str,
               model: str,
               epochs: int,
               layout_name: str,
               t: int = 1) -> dict:
    """A SimDR authors' layout of COCO 256x192 (K = 17): its config
    ``configs/<folder>/<model>_*-<epochs>e_coco-256x192.py`` (the authors'
    END_EPOCH), the layout the converter must find, ``t`` channels per
    joint."""
    return dict(
        model='simdr',
        layout=layout,
        config=(folder, model, 'coco-256x192', epochs),
        layout_name=layout_name,
        k=17,
        t=t)


def tokenpose_case(layout: str, model: str, layout_name: str, heads: int,
                   **facts) -> dict:
    """A TokenPose authors' layout and its ``dark_tokenpose-*`` config, with
    the authors' facts (their yaml and pose_tokenpose_*.py): base prefix,
    transformer stacks, heads, attention scale with head_dim
    (TokenPose_TB_base / _L_base) or with D (TokenPose_S_base), patch
    (rows, cols) = PATCH_SIZE reversed, keypoints K, heatmap (rows, cols);
    ``facts`` overrides the defaults, those of B on COCO 256x192."""
    case = dict(
        model='tokenpose',
        layout=layout,
        config=('tokenpose/coco', model, 'coco-256x192', 300),
        layout_name=layout_name,
        heads=heads,
        base='transformer.',
        stacks=1,
        scale_with_head=True,
        patch=(4, 3),
        k=17,
        heatmap=(64, 48))
    case.update(facts)
    return case


RESNET, HRNET = 'pose_resnet backbone', 'pose_hrnet backbone'
BL = 'TokenPose_B / TokenPose_L (pre_feature + transformer)'
CASES = {
    'simdr-pose_resnet':
    simdr_case('simdr_pose_resnet50_coco_256x192.json', 'simdr/coco',
               'simdr_res50', 140,
               RESNET + ', simdr head with deconvolutions'),
    'simdr-pose_resnet_upfree':
    simdr_case(
        'simdr_pose_resnet50_upfree_coco_256x192.json',
        'simdr/coco',
        'simdr_res50_wo-deconv',
        140,
        RESNET + ', simdr head (upsample-free)',
        t=28),
    'simdr-pose_hrnet':
    simdr_case('simdr_pose_hrnet_w32_coco_256x192.json', 'simdr/coco',
               'simdr_hrnet-w32', 210, HRNET + ', simdr head'),
    'heatmap-pose_resnet':
    simdr_case('heatmap_pose_resnet50_coco_256x192.json', 'heatmap/coco',
               'heatmap_res50', 140,
               RESNET + ', heatmap head with deconvolutions'),
    'heatmap-pose_hrnet':
    simdr_case('heatmap_pose_hrnet_w32_coco_256x192.json', 'heatmap/coco',
               'heatmap_hrnet-w32', 210, HRNET + ', heatmap head'),
    'T':
    tokenpose_case(
        'tokenpose_t_coco_256x192.json',
        'dark_tokenpose-t',
        'TokenPose_T (transformer), 1 transformer stack',
        heads=16,
        patch=(16, 12)),
    'S-v1':
    tokenpose_case(
        'tokenpose_s_v1_coco_256x192.json',
        'dark_tokenpose-s',
        'TokenPose_S (features), 1 transformer stack',
        heads=8,
        base='features.',
        scale_with_head=False),
    'B':
    tokenpose_case('tokenpose_b_coco_256x192.json', 'dark_tokenpose-b',
                   BL + ', 1 transformer stack', 8),
    'L-D24':
    tokenpose_case(
        'tokenpose_l_d24_coco_256x192.json',
        'dark_tokenpose-l-d24',
        BL + ', 3 transformer stacks',
        heads=12,
        stacks=3),
    'L-D6-MPII':
    tokenpose_case(
        'tokenpose_l_d6_mpii_256x256.json',
        'dark_tokenpose-l-d6',
        BL + ', 3 transformer stacks',
        heads=8,
        stacks=3,
        config=('tokenpose/mpii', 'dark_tokenpose-l-d6', 'mpii-256x256', 300),
        patch=(4, 4),
        k=16,
        heatmap=(64, 64)),
}
SIMDR_CASES = [n for n, c in CASES.items() if c['model'] == 'simdr']
TOKENPOSE_CASES = [n for n, c in CASES.items() if c['model'] == 'tokenpose']
#: #Params at 256x192: SimBa-Res50 heatmap 34.0M, SimDR 36.8M; HRNet-W32
#: heatmap 28.5M, SimDR 31.3M; TokenPose-S 6.6M (model table of
#: leeyegy/SimCC README.md); TokenPose-B 13.5M and TokenPose-L/D24 27.5M
#: (TokenPose, arXiv 2104.03516, Table 1)
PUBLISHED_MILLIONS = {
    'simdr-pose_resnet': 36.8,
    'simdr-pose_hrnet': 31.3,
    'heatmap-pose_resnet': 34.0,
    'heatmap-pose_hrnet': 28.5,
    'S-v1': 6.6,
    'B': 13.5,
    'L-D24': 27.5
}


def load_layout(name: str) -> 'OrderedDict[str, list]':
    with open(osp.join(LAYOUTS, name)) as f:
        return json.load(f, object_pairs_hook=OrderedDict)


def fill(layout: dict, seed: int = 0) -> 'OrderedDict[str, torch.Tensor]':
    """Seeded values in the layout's shapes: int64 batch counters,
    running variances in [0.5, 1.5), the rest uniform with variance
    1 / fan_in (fan_in = product of all but the first dimension)."""
    g = torch.Generator().manual_seed(seed)
    out = OrderedDict()
    for key, shape in layout.items():
        if key.endswith('num_batches_tracked'):
            out[key] = torch.randint(1, 10**6, shape, generator=g)
        elif key.endswith('running_var'):
            out[key] = torch.rand(shape, generator=g) + 0.5
        else:
            fan_in = math.prod(shape[1:]) if len(shape) > 1 else 1
            bound = math.sqrt(3 / fan_in)
            out[key] = torch.empty(shape).uniform_(-bound, bound, generator=g)
    return out


@functools.lru_cache(maxsize=None)
def authors(name: str) -> 'OrderedDict[str, torch.Tensor]':
    """The filled layout ``name``, made once per test module; tests must
    not change it (copy it to add or drop keys)."""
    return fill(load_layout(name))


def find_config(folder: str, model: str, data: str, epochs: int) -> str:
    """The config ``configs/<folder>/<model>_<G>xb<B>-<E>e_<data>.py``.

    The GPUs x batch and schedule parts of config names may change: the
    one with the authors' schedule ``epochs`` is taken, else the only one
    with any schedule."""
    pattern = rf'{re.escape(model)}_\d+xb\d+-(\d+)e_{re.escape(data)}\.py'
    found = [(n, m)
             for n in sorted(os.listdir(osp.join(REPO, 'configs', folder)))
             if (m := re.fullmatch(pattern, n))]
    names = [n for n, m in found if int(m[1]) == epochs] or \
        [n for n, _ in found]
    assert len(names) == 1, f'{pattern!r} in configs/{folder}: {names}'
    return osp.join(REPO, 'configs', folder, names[0])


@functools.lru_cache(maxsize=None)
def build(config: str) -> torch.nn.Module:
    """The config's model by file name, in eval mode, built on the ``meta``
    device (shapes only, fast): tests load weights into it with
    ``load_state_dict(strict=True, assign=True)``, which checks keys and
    shapes as a plain strict load and then uses the given tensors."""
    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmpose'))
    with torch.device('meta'):
        return MODELS.build(cfg.model).eval()


def make_case(name: str) -> dict:
    """The facts of ``CASES[name]``, the authors' filled state dict, the
    config's model and the conversion."""
    facts = dict(CASES[name], name=name)
    facts['authors'] = authors(facts['layout'])
    facts['built'] = build(find_config(*facts['config']))
    facts['convert'] = CONVERTERS[facts['model']]
    return facts


@pytest.fixture(scope='module', params=list(CASES), ids=list(CASES))
def case(request):
    return make_case(request.param)


@pytest.fixture(scope='module', params=SIMDR_CASES, ids=SIMDR_CASES)
def simdr_case(request):
    return make_case(request.param)


@pytest.fixture(scope='module', params=TOKENPOSE_CASES, ids=TOKENPOSE_CASES)
def tokenpose_case(request):
    return make_case(request.param)


@pytest.mark.parametrize('name', list(PUBLISHED_MILLIONS))
def test_layout_has_the_published_parameter_count(name):
    """The written-down layout against the world: the trainable
    parameters round to the published #Params. Not counted: BatchNorm's
    running statistics and TokenPose's sine ``pos_embedding``, a Parameter
    with ``requires_grad=False`` (tokenpose_base.py)."""
    layout = load_layout(CASES[name]['layout'])
    n = sum(
        math.prod(s) for k, s in layout.items()
        if not k.endswith(('running_mean', 'running_var',
                           'num_batches_tracked', 'pos_embedding')))
    assert round(n / 1e6, 1) == PUBLISHED_MILLIONS[name], n


@pytest.mark.parametrize(
    'prefix', ['', 'module.'], ids=['final_state', 'checkpoint'])
def test_converts_and_loads_strictly(case, prefix):
    """``final_state.pth`` keys, and ``checkpoint.pth``'s ``module.`` keys
    (the authors' tools/train.py saves both)."""
    src = OrderedDict((prefix + k, v) for k, v in case['authors'].items())
    dst, report = case['convert'](src)
    assert isinstance(report, ConversionReport)
    assert report.ok and report.stripped_prefix == prefix
    assert report.layout == case['layout_name']
    assert len(report.mapped) == len(src) == len(dst)
    model = case['built']
    assert check_against(dst, model.state_dict()) == []
    model.load_state_dict(dst, strict=True, assign=True)
    loaded = model.state_dict()
    for key, new in report.mapped.items():
        assert torch.equal(loaded[new], src[key]), (key, new)


def test_without_num_batches_tracked_still_loads_strictly(simdr_case):
    """Checkpoints of PyTorch < 0.4.1 lack num_batches_tracked."""
    case = simdr_case
    old = OrderedDict((k, v) for k, v in case['authors'].items()
                      if not k.endswith('num_batches_tracked'))
    assert len(old) < len(case['authors'])
    dst, report = convert_simdr(old)
    assert report.ok
    assert check_against(dst, case['built'].state_dict()) == []
    case['built'].load_state_dict(dst, strict=True, assign=True)


def bn(x, sd, name):
    return F.batch_norm(
        x,
        sd[f'{name}.running_mean'],
        sd[f'{name}.running_var'],
        sd[f'{name}.weight'],
        sd[f'{name}.bias'],
        training=False,
        eps=BN_EPS)


def authors_head(sd, x, k, t):
    """The authors' forward after ``layer4`` / ``stage4``, functionally:
    pose_resnet.py ``deconv_layers`` (ConvTranspose2d 4x4, stride 2,
    padding 1, output_padding 0 for kernel 4, no bias; BN; ReLU) if present,
    ``final_layer`` (1x1 conv); for SimDR (``mlp_head_x`` present) then
    ``rearrange('b (k t) h w -> b k (t h w)')`` (t = 1: ``'b c h w -> b c
    (h w)'``), ``mlp_head_x`` / ``mlp_head_y``.

    Args:
        sd (dict): The authors' state dict (their key names).
        x (Tensor): Backbone output in shape (B, C, h, w).
        k (int): Joints K.
        t (int): Channels per joint (``CHANNEL_PER_JOINT``).

    Returns:
        tuple: x logits (B, K, Wx) and y logits (B, K, Wy); for a heatmap
        model the heatmaps (B, K, H, W) alone.
    """
    i = 0
    while f'deconv_layers.{i}.weight' in sd:
        x = F.conv_transpose2d(
            x, sd[f'deconv_layers.{i}.weight'], stride=2, padding=1)
        x = F.relu(bn(x, sd, f'deconv_layers.{i + 1}'))
        i += 3
    x = F.conv2d(x, sd['final_layer.weight'], sd['final_layer.bias'])
    if 'mlp_head_x.weight' not in sd:
        return (x, )
    b, _, h, w = x.shape
    x = x.reshape(b, k, t, h, w).reshape(b, k, t * h * w)
    return (F.linear(x, sd['mlp_head_x.weight'], sd['mlp_head_x.bias']),
            F.linear(x, sd['mlp_head_y.weight'], sd['mlp_head_y.bias']))


def test_simdr_head_output_equals_the_authors(simdr_case):
    """Converted weights give the authors' SimDR logits (or heatmaps) on
    one backbone feature map.

    Both sides run the same float32 operations (conv_transpose2d,
    batch_norm, conv2d, linear); only a different summation order could
    make them differ, by about sqrt(n) * 2^-24 = 1.1e-5 for the longest
    reduction here (n = 2048 * 4 * 4 in the first deconvolution) relative
    to the magnitude of its terms, which the later layers do not amplify
    (weights of variance 1 / fan_in). So 1e-4 of the output's scale bounds
    the difference; a wrong key mapping changes outputs by their full
    scale.
    """
    case = simdr_case
    model = case['built']
    dst, _ = convert_simdr(case['authors'])
    model.load_state_dict(dst, strict=True, assign=True)
    hrnet = case['name'].endswith('hrnet')
    channels, stride = (32, 4) if hrnet else (2048, 32)
    g = torch.Generator().manual_seed(1)
    feat = torch.randn(2, channels, 256 // stride, 192 // stride, generator=g)
    with torch.no_grad():
        ours = model.head((feat, ))
        theirs = authors_head(case['authors'], feat, case['k'], case['t'])
    if case['name'].startswith('simdr'):
        shapes = [(2, 17, 384), (2, 17, 512)]  # 192 and 256 times 2 bins
    else:
        ours, shapes = (ours, ), [(2, 17, 64, 48)]
    assert len(ours) == len(theirs) == len(shapes)
    for o, r, shape in zip(ours, theirs, shapes):
        assert o.shape == r.shape == shape
        err = (o - r).abs().max()
        assert err <= 1e-4 * r.abs().max(), (err, r.abs().max())


def test_unmapped_keys_are_an_error_naming_them():
    sd = OrderedDict(authors(CASES['simdr-pose_hrnet']['layout']))
    sd['criterion.weight'] = torch.zeros(1)
    sd['module_list.0.weight'] = torch.zeros(1)
    with pytest.raises(UnmappedKeysError) as err:
        convert_simdr(sd)
    assert "'criterion.weight', 'module_list.0.weight'" in str(err.value)
    assert str(err.value).startswith('2 of 1760 keys have no simdr_ext name')
    dst, report = convert_simdr(sd, strict=False)
    assert report.unmapped == ['criterion.weight', 'module_list.0.weight']
    assert len(dst) == 1758 and 'unmapped: criterion.weight' in \
        report.summary()


def test_not_a_state_dict_is_a_clear_error():
    with pytest.raises(TypeError, match="entry 'epoch' is a int"):
        convert_simdr({'conv1.weight': torch.zeros(1), 'epoch': 3})


def test_check_against_reports_shape_and_key_problems():
    ref = {
        'a': torch.zeros(2, 3),
        'b': torch.zeros(1),
        'bn.num_batches_tracked': torch.zeros((), dtype=torch.long)
    }
    problems = check_against({
        'a': torch.zeros(3, 2),
        'c': torch.zeros(1)
    }, ref)
    assert problems == [
        'missing: b', 'unexpected: c',
        'shape: a checkpoint (3, 2) vs model (2, 3)'
    ]


def test_the_hrnet_stem_of_b_and_l_is_under_pre_feature():
    """The layouts' 930 ``pre_feature.*`` keys (HRNET_base) all land in the
    backbone's stem, the rest in the transformer part or the head."""
    for name in ('B', 'L-D24', 'L-D6-MPII'):
        src = authors(CASES[name]['layout'])
        _, report = convert_tokenpose(src)
        stem = {
            k: v
            for k, v in report.mapped.items() if k.startswith('pre_feature.')
        }
        assert len(stem) == 930
        assert all(v == 'backbone.stem.' + k[len('pre_feature.'):]
                   for k, v in stem.items())
        assert all(
            k.startswith('transformer.')
            for k in set(report.mapped) - set(stem))


def layer_norm(x, sd, name):
    return F.layer_norm(x, x.shape[-1:], sd[f'{name}.weight'],
                        sd[f'{name}.bias'], LN_EPS)


def linear(x, sd, name):
    return F.linear(x, sd[f'{name}.weight'], sd.get(f'{name}.bias'))


def authors_tokenpose(sd, facts, feat):
    """The authors' ``TokenPose_*_base.forward`` after the stem,
    functionally, with ``POS_EMBEDDING_TYPE: 'sine-full'`` (every yaml).

    ``rearrange(x, 'b c (h p1) (w p2) -> b (h w) (p1 p2 c)')``,
    ``patch_to_embedding``; ``x += pos_embedding[:, :n]``; keypoint tokens
    prepended; per stack, per layer ``idx``: ``x[:, K:] += pos`` when
    ``idx > 0``, ``x = attn(LN(x)) + x`` (``to_qkv(x).chunk(3)``, ``'b n
    (h d) -> b h n d'``, ``q k^T * scale``, softmax, ``to_out.0``), ``x =
    net(LN(x)) + x`` (Linear, GELU, Linear); the K first tokens of each
    stack concatenated (L) and ``mlp_head``, reshaped to the heatmap.

    Args:
        sd (dict): The authors' state dict (their key names).
        facts (dict): A :data:`CASES` entry.
        feat (Tensor): Stem output in shape (B, C, H, W).

    Returns:
        Tensor: Heatmaps in shape (B, K, Hh, Wh).
    """
    base, k = facts['base'], facts['k']
    p1, p2 = facts['patch']
    b, c, h, w = feat.shape
    x = feat.reshape(b, c, h // p1, p1, w // p2, p2)
    x = x.permute(0, 2, 4, 3, 5, 1).reshape(b, -1, p1 * p2 * c)
    x = linear(x, sd, base + 'patch_to_embedding')
    pos = sd[base + 'pos_embedding']
    x = x + pos[:, :x.shape[1]]
    x = torch.cat((sd[base + 'keypoint_token'].expand(b, -1, -1), x), dim=1)
    dim = x.shape[-1]
    heads = facts['heads']
    scale = (dim // heads if facts['scale_with_head'] else dim)**-0.5
    stacks = ['transformer'] if facts['stacks'] == 1 else [
        f'transformer{i}' for i in range(1, facts['stacks'] + 1)
    ]
    outs = []
    for stack in stacks:
        idx = 0
        while f'{base}{stack}.layers.{idx}.0.fn.norm.weight' in sd:
            layer = f'{base}{stack}.layers.{idx}'
            if idx > 0:
                x = torch.cat((x[:, :k], x[:, k:] + pos), dim=1)
            y = layer_norm(x, sd, f'{layer}.0.fn.norm')
            q, kk, v = (
                t.reshape(b, -1, heads, dim // heads).transpose(1, 2)
                for t in linear(y, sd, f'{layer}.0.fn.fn.to_qkv').chunk(
                    3, dim=-1))
            attn = (torch.einsum('bhid,bhjd->bhij', q, kk) *
                    scale).softmax(dim=-1)
            y = torch.einsum('bhij,bhjd->bhid', attn, v)
            y = y.transpose(1, 2).reshape(b, -1, dim)
            x = linear(y, sd, f'{layer}.0.fn.fn.to_out.0') + x
            y = layer_norm(x, sd, f'{layer}.1.fn.norm')
            y = F.gelu(linear(y, sd, f'{layer}.1.fn.fn.net.0'))
            x = linear(y, sd, f'{layer}.1.fn.fn.net.3') + x
            idx += 1
        outs.append(x[:, :k])
    x = torch.cat(outs, dim=2)
    x = layer_norm(x, sd, base + 'mlp_head.0')
    x = linear(x, sd, base + 'mlp_head.1')
    if base + 'mlp_head.3.weight' in sd:
        x = layer_norm(x, sd, base + 'mlp_head.2')
        x = linear(x, sd, base + 'mlp_head.3')
    return x.reshape(b, k, *facts['heatmap'])


def test_tokenpose_heatmaps_equal_the_authors(tokenpose_case):
    """Converted weights give the authors' heatmaps on one stem output.

    The stem (HRNet's / the stem-net's own modules, weights moved
    unchanged and checked above) is replaced by a fixed feature map on our
    side and skipped on the authors'. Both sides run the same float32
    operations, partly in other orders (SDPA vs einsum + softmax); a sum
    of n terms then differs by about sqrt(n) * 2^-24 of its magnitude, and
    the differences add up over the residual stream: with n <= 768 and
    at most 24 layers, 24 * 2 * sqrt(768) * 6e-8 = 8e-5 of the output's
    scale bounds them.
    """
    case = tokenpose_case
    model = case['built']
    dst, _ = convert_tokenpose(case['authors'])
    model.load_state_dict(dst, strict=True, assign=True)
    layout = load_layout(case['layout'])
    d = layout[case['base'] + 'patch_to_embedding.weight'][1]
    p1, p2 = case['patch']
    channels = d // (p1 * p2)
    w, h = model.backbone.input_size
    stride = 1 if channels == 3 else 4
    g = torch.Generator().manual_seed(1)
    feat = torch.randn(1, channels, h // stride, w // stride, generator=g)
    image = torch.zeros(1, 3, h, w)
    with torch.no_grad(), mock.patch.object(
            model.backbone.stem, 'forward', return_value=feat):
        ours = model.head(model.backbone(image))
    with torch.no_grad():
        theirs = authors_tokenpose(case['authors'], case, feat)
    assert ours.shape == theirs.shape == (1, case['k'], *case['heatmap'])
    err = (ours - theirs).abs().max()
    assert err <= 8e-5 * theirs.abs().max(), (err, theirs.abs().max())


@pytest.mark.parametrize('src,dst', [
    ('features.transformer.layers.11.1.fn.fn.net.3.bias',
     'backbone.transformers.0.layers.11.mlp.fc2.bias'),
    ('transformer.transformer.layers.0.0.fn.fn.to_qkv.weight',
     'backbone.transformers.0.layers.0.attn.qkv.weight'),
    ('transformer.transformer3.layers.7.0.fn.fn.to_out.0.weight',
     'backbone.transformers.2.layers.7.attn.proj.weight'),
    ('transformer.transformer1.layers.2.1.fn.norm.bias',
     'backbone.transformers.0.layers.2.norm2.bias'),
    ('features.layer1.0.downsample.1.running_var',
     'backbone.stem.layer1.0.downsample.1.running_var'),
    ('pre_feature.stage3.3.fuse_layers.0.1.0.weight',
     'backbone.stem.stage3.3.fuse_layers.0.1.0.weight'),
    ('features.keypoint_token', 'backbone.keypoint_tokens'),
    ('transformer.pos_embedding', 'backbone.pos_embed'),
    ('features.mlp_head.3.weight', 'head.mlp_head.3.weight'),
])
def test_single_keys(src, dst):
    out, report = convert_tokenpose({src: torch.zeros(1)})
    assert report.ok and list(out) == [dst]


@pytest.mark.parametrize(
    'key',
    [
        'features.final_layer.weight',
        'transformer.transformer.layers.0.2.fn.x',
        'mlp_head_x.weight',
        'features.transformer.layers.0.0.fn.fn.to_qkv.bias',
        # the stem outside pre_feature, or in a wrapper that has none
        'stage3.3.fuse_layers.0.1.0.weight',
        'transformer.conv1.weight',
        'features.stage2.0.branches.0.0.conv1.weight',
        'pre_feature.keypoint_token',
    ])
def test_unknown_keys_are_reported(key):
    out, report = convert_tokenpose({key: torch.zeros(1)}, strict=False)
    assert not report.ok and report.unmapped == [key] and not out
    assert key in report.summary()
    with pytest.raises(UnmappedKeysError, match='1 of 1 keys'):
        convert_tokenpose({key: torch.zeros(1)})


def test_tokenpose_base_key_takes_wrapper_free_keys():
    assert tokenpose_base_key('keypoint_token') == 'backbone.keypoint_tokens'
    assert tokenpose_base_key('final_layer.weight') is None


def test_unmapped_error_lists_a_few_keys():
    src = authors(CASES['B']['layout'])
    bare = OrderedDict(
        (k[len('pre_feature.'):] if k.startswith('pre_feature.') else k, v)
        for k, v in src.items())
    with pytest.raises(UnmappedKeysError) as err:
        convert_tokenpose(bare)
    msg = str(err.value)
    assert msg.startswith('930 of 1074 keys have no simdr_ext name')
    assert "'conv1.weight', 'bn1.weight'" in msg and 'and 925 more' in msg
    _, report = convert_tokenpose(bare, strict=False)
    lines = report.summary().splitlines()
    assert lines[2:4] == ['unmapped keys: 930', '  unmapped: conv1.weight']
    assert '  ... and 920 more' in lines


def test_both_converters_print_the_same_report():
    """Same fields, same order, from the one shared report."""
    _, tp = convert_tokenpose(authors(CASES['S-v1']['layout']))
    _, sd = convert_simdr(authors(CASES['simdr-pose_resnet_upfree']['layout']))
    fields = [[line.split(':')[0] for line in r.summary().splitlines()]
              for r in (tp, sd)]
    assert fields[0] == fields[1] == [
        'layout', 'mapped keys', 'unmapped keys', 'checked against'
    ]


def training_checkpoint(path, case: str, model: str, epoch: int,
                        **extra) -> 'OrderedDict[str, torch.Tensor]':
    """Write the authors' ``checkpoint.pth`` of ``CASES[case]`` to
    ``path``: the ``DataParallel`` state dict (``module.`` keys) under
    ``state_dict``, next to ``best_state_dict`` (bare keys), epoch, model
    name, perf and ``extra`` (their tools/train.py); return the bare state
    dict."""
    sd = authors(CASES[case]['layout'])
    torch.save(
        dict(
            epoch=epoch,
            model=model,
            state_dict=OrderedDict(('module.' + k, v) for k, v in sd.items()),
            best_state_dict=sd,
            perf=0.7,
            **extra), path)
    return sd


@pytest.fixture(scope='module')
def upfree_training_checkpoint(tmp_path_factory):
    """The SimDR authors' ``checkpoint.pth`` of the upsample-free model,
    with the optimizer state (leeyegy/SimCC tools/train.py)."""
    path = tmp_path_factory.mktemp('authors') / 'checkpoint.pth'
    sd = training_checkpoint(
        path,
        'simdr-pose_resnet_upfree',
        'pose_resnet_upfree',
        140,
        optimizer=dict(state={}, param_groups=[dict(lr=1e-3)]))
    return path, sd


def test_cli_converts_checks_and_writes(upfree_training_checkpoint, tmp_path,
                                        capsys):
    src, sd = upfree_training_checkpoint
    config = find_config(*CASES['simdr-pose_resnet_upfree']['config'])
    dst = tmp_path / 'converted.pth'
    assert main(['--model', 'simdr',
                 str(src),
                 str(dst), '--config', config]) == 0
    out = capsys.readouterr().out
    assert 'layout: pose_resnet backbone, simdr head (upsample-free)' in out
    assert "dropped prefix: 'module.'" in out
    assert 'mapped keys: 324\nunmapped keys: 0\n' in out
    assert ('missing keys: 0\nunexpected keys: 0\nshape mismatches: 0\n'
            'dtype mismatches: 0\n') in out
    ckpt = torch.load(dst, weights_only=True)
    assert ckpt['meta']['converted_from'] == 'checkpoint.pth'
    assert torch.equal(ckpt['state_dict']['head.final_layer.weight'],
                       sd['final_layer.weight'])


def test_cli_refuses_a_config_of_another_architecture(
        upfree_training_checkpoint, tmp_path, capsys):
    """Upsample-free weights are not the deconvolution model's."""
    src, _ = upfree_training_checkpoint
    dst = tmp_path / 'x.pth'
    assert main([
        '--model', 'simdr',
        str(src),
        str(dst), '--config',
        find_config(*CASES['simdr-pose_resnet']['config'])
    ]) == 1
    captured = capsys.readouterr()
    assert 'missing: head.deconv_head.deconv_layers.0.weight' in \
        captured.out
    assert 'unexpected: head.final_layer.weight' in captured.out
    # 3 deconvolutions, 3 BatchNorms (4 tensors each; batch counters are
    # not required) and the 1x1 conv missing; mlp_head_x/y read
    # 28 x 8 x 6 = 1344 values, not 64 x 48 = 3072
    assert ('missing keys: 17\nunexpected keys: 2\nshape mismatches: 2\n'
            'dtype mismatches: 0\n') in captured.out
    assert ('shape: head.mlp_head_x.weight checkpoint (384, 1344) vs model '
            '(384, 3072)') in captured.out
    assert 'error: does not match simdr_res50_' in captured.err
    assert not dst.exists()


def test_cli_exits_non_zero_on_unmapped_keys(tmp_path, capsys):
    src = tmp_path / 'bad.pth'
    torch.save({
        'conv1.weight': torch.zeros(1),
        'extra.weight': torch.zeros(1)
    }, src)
    dst = tmp_path / 'out.pth'
    assert main(['--model', 'simdr', str(src), str(dst)]) == 1
    captured = capsys.readouterr()
    assert 'unmapped: extra.weight' in captured.out
    assert "error: 1 of 2 keys have no simdr_ext name" in captured.err
    assert "'extra.weight'" in captured.err
    assert not dst.exists()


def test_cli_names_a_missing_file(tmp_path, capsys):
    missing = tmp_path / 'nope.pth'
    assert main(['--model', 'simdr',
                 str(missing),
                 str(tmp_path / 'out.pth')]) == 1
    assert f'checkpoint {missing} does not exist' in capsys.readouterr().err


def test_cli_names_a_file_that_is_no_checkpoint(tmp_path, capsys):
    text = tmp_path / 'notes.pth'
    text.write_text('not a checkpoint')
    assert main(['--model', 'simdr',
                 str(text),
                 str(tmp_path / 'out.pth')]) == 1
    err = capsys.readouterr().err
    assert f'cannot read {text} as a PyTorch checkpoint' in err
    assert '\n' not in err.rstrip('\n')


def test_cli_converts_the_training_checkpoint_and_checks_the_config(
        tmp_path, capsys):
    """The authors' ``checkpoint.pth`` (``module.`` keys under
    ``state_dict``) of TokenPose-S converts to the DARK config's model, but
    not to the SimDR-head config's: the authors' TokenPose has heatmap
    ``mlp_head`` only."""
    src = tmp_path / 'checkpoint.pth'
    sd = training_checkpoint(src, 'S-v1', 'pose_tokenpose_s', 300)
    config = find_config(*CASES['S-v1']['config'])
    dst = tmp_path / 'ours.pth'
    assert main(
        ['--model', 'tokenpose',
         str(src),
         str(dst), '--config', config]) == 0
    out = capsys.readouterr().out
    assert 'layout: TokenPose_S (features), 1 transformer stack' in out
    assert 'mapped keys: 234\nunmapped keys: 0\n' in out
    assert ('missing keys: 0\nunexpected keys: 0\nshape mismatches: 0\n'
            'dtype mismatches: 0\n') in out
    ckpt = torch.load(dst, weights_only=True)
    assert torch.equal(ckpt['state_dict']['backbone.pos_embed'],
                       sd['features.pos_embedding'])

    simdr = find_config('tokenpose/coco', 'simdr_tokenpose-s', 'coco-256x192',
                        300)
    bad = tmp_path / 'bad.pth'
    assert main(
        ['--model', 'tokenpose',
         str(src),
         str(bad), '--config', simdr]) == 1
    captured = capsys.readouterr()
    assert 'missing: head.mlp_head_x.weight' in captured.out
    assert 'unexpected: head.mlp_head.0.weight' in captured.out
    assert 'error: does not match' in captured.err
    assert not bad.exists()
