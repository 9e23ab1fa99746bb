# Copyright (c) simdr_ext contributors. All rights reserved.
"""The TokenPose authors' checkpoint converter, on the authors' key layouts.

No TokenPose weights were released (leeyegy/TokenPose#4-#6). The fixtures
are the authors' real ``state_dict()`` layouts, written down as data in
``tests/data/author_layouts/`` (derived from leeyegy/TokenPose ``ac939fa``
``lib/models/pose_tokenpose_{t,s,b,l}.py``, ``tokenpose_base.py``,
``hr_base.py`` and the experiment yamls; see the README there), filled with
seeded random values. Each is converted and loaded with ``strict=True`` into
the model of the matching ``dark_tokenpose-*`` config, built by file name;
then the keypoint heatmaps are compared with the authors' transformer and
``mlp_head`` computed functionally from the authors' state dict, in the
order of their ``forward``, on the same stem output.
"""
import importlib.util
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
from simdr_ext.utils.checkpoint_conversion import (ConversionReport,
                                                   UnmappedKeysError)
from simdr_ext.utils.convert_simdr import convert as convert_simdr
from simdr_ext.utils.convert_tokenpose import check_against, convert, map_key

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
LAYOUTS = osp.join(REPO, 'tests', 'data', 'author_layouts')
LN_EPS = 1e-5  # nn.LayerNorm's default, which the authors keep

# The authors' facts per model (their yaml and pose_tokenpose_*.py): base
# prefix, transformer stacks, heads, attention scale with head_dim
# (TokenPose_TB_base / _L_base) or with D (TokenPose_S_base), patch (rows,
# cols) = PATCH_SIZE reversed, keypoints, heatmap (rows, cols), layers.
CASES = {
    'T':
    dict(
        layout='tokenpose_t_coco_256x192.json',
        config=('dark_tokenpose-t', 'coco-256x192', 300),
        base='transformer.',
        stacks=1,
        heads=16,
        scale_with_head=True,
        patch=(16, 12),
        k=17,
        heatmap=(64, 48),
        model='TokenPose_T (transformer)'),
    'S-v1':
    dict(
        layout='tokenpose_s_v1_coco_256x192.json',
        config=('dark_tokenpose-s', 'coco-256x192', 300),
        base='features.',
        stacks=1,
        heads=8,
        scale_with_head=False,
        patch=(4, 3),
        k=17,
        heatmap=(64, 48),
        model='TokenPose_S (features)'),
    'B':
    dict(
        layout='tokenpose_b_coco_256x192.json',
        config=('dark_tokenpose-b', 'coco-256x192', 300),
        base='transformer.',
        stacks=1,
        heads=8,
        scale_with_head=True,
        patch=(4, 3),
        k=17,
        heatmap=(64, 48),
        model='TokenPose_B / TokenPose_L (pre_feature + transformer)'),
    'L-D24':
    dict(
        layout='tokenpose_l_d24_coco_256x192.json',
        config=('dark_tokenpose-l-d24', 'coco-256x192', 300),
        base='transformer.',
        stacks=3,
        heads=12,
        scale_with_head=True,
        patch=(4, 3),
        k=17,
        heatmap=(64, 48),
        model='TokenPose_B / TokenPose_L (pre_feature + transformer)'),
    'L-D6-MPII':
    dict(
        layout='tokenpose_l_d6_mpii_256x256.json',
        config=('dark_tokenpose-l-d6', 'mpii-256x256', 300),
        base='transformer.',
        stacks=3,
        heads=8,
        scale_with_head=True,
        patch=(4, 4),
        k=16,
        heatmap=(64, 64),
        model='TokenPose_B / TokenPose_L (pre_feature + transformer)'),
}
#: #Params: TokenPose-S 6.6M at 256x192 (model table of leeyegy/SimCC
#: README.md); TokenPose-B 13.5M and TokenPose-L/D24 27.5M (TokenPose,
#: arXiv 2104.03516, Table 1)
PUBLISHED_MILLIONS = {'S-v1': 6.6, 'B': 13.5, 'L-D24': 27.5}


@pytest.fixture(scope='module', autouse=True)
def one_thread():
    """One intra-op thread: the 2-core machine is shared."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


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
    found = [(n, m) for n in sorted(os.listdir(
        osp.join(REPO, 'configs', folder))) if (m := re.fullmatch(pattern, n))]
    names = [n for n, m in found if int(m[1]) == epochs] or \
        [n for n, _ in found]
    assert len(names) == 1, f'{pattern!r} in configs/{folder}: {names}'
    return osp.join(REPO, 'configs', folder, names[0])


def config_of(facts: dict) -> str:
    folder = 'tokenpose/mpii' if 'mpii' in facts['layout'] else \
        'tokenpose/coco'
    return find_config(folder, *facts['config'])


def build(config: str) -> torch.nn.Module:
    """The config's model by file name, in eval mode, built on the ``meta``
    device (shapes only, fast): tests load weights into it with
    ``load_state_dict(strict=True, assign=True)``, which checks keys and
    shapes as a plain strict load and then uses the given tensors."""
    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmpose'))
    with torch.device('meta'):
        return MODELS.build(cfg.model).eval()


@pytest.fixture(scope='module', params=list(CASES), ids=list(CASES))
def case(request):
    facts = dict(CASES[request.param], name=request.param)
    facts['authors'] = authors(facts['layout'])
    facts['built'] = build(config_of(facts))
    return facts


@pytest.mark.parametrize('name', list(PUBLISHED_MILLIONS))
def test_layout_has_the_published_parameter_count(name):
    """The written-down layout against the world: the trainable
    parameters round to the published #Params. Not counted: BatchNorm's
    running statistics and the sine ``pos_embedding``, a Parameter with
    ``requires_grad=False`` (tokenpose_base.py)."""
    layout = load_layout(CASES[name]['layout'])
    n = sum(
        math.prod(s) for k, s in layout.items()
        if not k.endswith(('running_mean', 'running_var',
                           'num_batches_tracked', 'pos_embedding')))
    assert round(n / 1e6, 1) == PUBLISHED_MILLIONS[name], n


@pytest.mark.parametrize('prefix', ['', 'module.'],
                         ids=['final_state', 'checkpoint'])
def test_converts_and_loads_strictly(case, prefix):
    """``final_state.pth`` keys, and ``checkpoint.pth``'s ``module.`` keys
    (the authors' tools/train.py saves both)."""
    src = OrderedDict((prefix + k, v) for k, v in case['authors'].items())
    dst, report = convert(src)
    assert isinstance(report, ConversionReport)
    assert report.ok and report.stripped_prefix == prefix
    assert report.num_transformers == case['stacks']
    assert report.layout.startswith(case['model'] + ', ')
    assert len(report.mapped) == len(src) == len(dst)
    model = case['built']
    assert check_against(dst, model.state_dict()) == []
    model.load_state_dict(dst, strict=True, assign=True)
    loaded = model.state_dict()
    for key, new in report.mapped.items():
        assert torch.equal(loaded[new], src[key]), (key, new)


def test_the_hrnet_stem_of_b_and_l_is_under_pre_feature():
    """The layouts' 930 ``pre_feature.*`` keys (HRNET_base) all land in the
    backbone's stem, the rest in the transformer part or the head."""
    for name in ('B', 'L-D24', 'L-D6-MPII'):
        src = authors(CASES[name]['layout'])
        _, report = convert(src)
        stem = {k: v for k, v in report.mapped.items()
                if k.startswith('pre_feature.')}
        assert len(stem) == 930
        assert all(v == 'backbone.stem.' + k[len('pre_feature.'):]
                   for k, v in stem.items())
        assert all(k.startswith('transformer.')
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


def test_heatmaps_equal_the_authors(case):
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
    model = case['built']
    dst, _ = convert(case['authors'])
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
    out, report = convert({src: torch.zeros(1)})
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
    out, report = convert({key: torch.zeros(1)}, strict=False)
    assert not report.ok and report.unmapped == [key] and not out
    assert key in report.summary()
    with pytest.raises(UnmappedKeysError, match='1 of 1 keys'):
        convert({key: torch.zeros(1)})


def test_map_key_takes_wrapper_free_keys():
    assert map_key('keypoint_token') == 'backbone.keypoint_tokens'
    assert map_key('final_layer.weight') is None


def test_unmapped_error_lists_a_few_keys():
    src = authors(CASES['B']['layout'])
    bare = OrderedDict((k[len('pre_feature.'):] if k.startswith(
        'pre_feature.') else k, v) for k, v in src.items())
    with pytest.raises(UnmappedKeysError) as err:
        convert(bare)
    msg = str(err.value)
    assert msg.startswith('930 of 1074 keys have no simdr_ext name')
    assert "'conv1.weight', 'bn1.weight'" in msg and 'and 925 more' in msg
    _, report = convert(bare, strict=False)
    lines = report.summary().splitlines()
    assert lines[2:4] == ['unmapped keys: 930', '  unmapped: conv1.weight']
    assert '  ... and 920 more' in lines


def test_both_converters_print_the_same_report():
    """Same fields, same order, from the one shared report."""
    _, tp = convert(authors(CASES['S-v1']['layout']))
    _, sd = convert_simdr(
        authors('simdr_pose_resnet50_upfree_coco_256x192.json'))
    fields = [[line.split(':')[0] for line in r.summary().splitlines()]
              for r in (tp, sd)]
    assert fields[0] == fields[1] == [
        'layout', 'mapped keys', 'unmapped keys', 'checked against'
    ]


def run_tool(argv):
    spec = importlib.util.spec_from_file_location(
        'convert_tokenpose_checkpoint',
        osp.join(REPO, 'tools/misc/convert_tokenpose_checkpoint.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool.main(argv)


def test_cli_converts_the_training_checkpoint_and_checks_the_config(
        tmp_path, capsys):
    """The authors' ``checkpoint.pth`` (``module.`` keys under
    ``state_dict``) of TokenPose-S converts to the DARK config's model, but
    not to the SimDR-head config's: the authors' TokenPose has heatmap
    ``mlp_head`` only."""
    sd = authors(CASES['S-v1']['layout'])
    src = tmp_path / 'checkpoint.pth'
    torch.save(
        dict(
            epoch=300,
            model='pose_tokenpose_s',
            state_dict=OrderedDict(('module.' + k, v) for k, v in sd.items()),
            best_state_dict=sd,
            perf=0.7), src)
    config = config_of(CASES['S-v1'])
    dst = tmp_path / 'ours.pth'
    assert run_tool([str(src), str(dst), '--config', config]) == 0
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
    assert run_tool([str(src), str(bad), '--config', simdr]) == 1
    captured = capsys.readouterr()
    assert 'missing: head.mlp_head_x.weight' in captured.out
    assert 'unexpected: head.mlp_head.0.weight' in captured.out
    assert 'error: does not match' in captured.err
    assert not bad.exists()
