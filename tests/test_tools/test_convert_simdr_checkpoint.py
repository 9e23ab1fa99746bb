# Copyright (c) simdr_ext contributors. All rights reserved.
"""The SimDR authors' checkpoint converter, on the authors' key layouts.

The fixtures are the authors' real ``state_dict()`` layouts, written down as
data in ``tests/data/author_layouts/`` (derived from leeyegy/SimCC
``lib/models/pose_resnet.py``, ``pose_resnet_upfree.py``, ``pose_hrnet.py``
and their experiment yamls; see the README there), filled with seeded random
values. Each is converted and loaded with ``strict=True`` into the model of
the matching config, built by file name; then the head's output is compared
with the authors' head computed functionally from the authors' state dict,
in the order of their ``forward``.
"""
import functools
import json
import math
import os
import os.path as osp
import re
from collections import OrderedDict

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmpose.registry import MODELS
from simdr_ext.utils.checkpoint_conversion import (ConversionReport,
                                                   UnmappedKeysError)
from simdr_ext.utils.convert_simdr import check_against, convert

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
LAYOUTS = osp.join(REPO, 'tests', 'data', 'author_layouts')

# name: (layout file, config (folder, model, data, the authors' END_EPOCH),
# layout found, joints K, channels per joint t)
CASES = {
    'simdr-pose_resnet':
    ('simdr_pose_resnet50_coco_256x192.json',
     ('simdr/coco', 'simdr_res50', 'coco-256x192', 140),
     'pose_resnet backbone, simdr head with deconvolutions', 17, 1),
    'simdr-pose_resnet_upfree':
    ('simdr_pose_resnet50_upfree_coco_256x192.json',
     ('simdr/coco', 'simdr_res50_wo-deconv', 'coco-256x192', 140),
     'pose_resnet backbone, simdr head (upsample-free)', 17, 28),
    'simdr-pose_hrnet': ('simdr_pose_hrnet_w32_coco_256x192.json',
                         ('simdr/coco', 'simdr_hrnet-w32', 'coco-256x192',
                          210), 'pose_hrnet backbone, simdr head', 17, 1),
    'heatmap-pose_resnet':
    ('heatmap_pose_resnet50_coco_256x192.json',
     ('heatmap/coco', 'heatmap_res50', 'coco-256x192', 140),
     'pose_resnet backbone, heatmap head with deconvolutions', 17, 1),
    'heatmap-pose_hrnet': ('heatmap_pose_hrnet_w32_coco_256x192.json',
                           ('heatmap/coco', 'heatmap_hrnet-w32',
                            'coco-256x192', 210),
                           'pose_hrnet backbone, heatmap head', 17, 1),
}
#: #Params of the models at 256x192 in the model table of leeyegy/SimCC
#: README.md: SimBa-Res50 heatmap 34.0M, SimDR 36.8M; HRNet-W32 heatmap
#: 28.5M, SimDR 31.3M
PUBLISHED_MILLIONS = {
    'simdr-pose_resnet': 36.8,
    'simdr-pose_hrnet': 31.3,
    'heatmap-pose_resnet': 34.0,
    'heatmap-pose_hrnet': 28.5
}
BN_EPS = 1e-5  # nn.BatchNorm2d's default, which the authors keep


@pytest.fixture(scope='module', autouse=True)
def one_thread():
    """One intra-op thread: the 2-core machine is shared, and competing
    OpenMP thread pools slow each other down many times over."""
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
    layout_file, config, layout_name, k, t = CASES[request.param]
    return dict(
        name=request.param,
        authors=authors(layout_file),
        model=build(find_config(*config)),
        layout_name=layout_name,
        k=k,
        t=t)


@pytest.mark.parametrize('name', list(PUBLISHED_MILLIONS))
def test_layout_has_the_published_parameter_count(name):
    """The written-down layout against the world: parameters (BatchNorm
    running statistics aside) round to the authors' published #Params."""
    layout = load_layout(CASES[name][0])
    n = sum(
        math.prod(s) for k, s in layout.items()
        if not k.endswith(('running_mean', 'running_var',
                           'num_batches_tracked')))
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
    assert report.layout == case['layout_name']
    assert len(report.mapped) == len(src) == len(dst)
    model = case['model']
    assert check_against(dst, model.state_dict()) == []
    model.load_state_dict(dst, strict=True, assign=True)
    loaded = model.state_dict()
    for key, new in report.mapped.items():
        assert torch.equal(loaded[new], src[key]), (key, new)


def test_without_num_batches_tracked_still_loads_strictly(case):
    """Checkpoints of PyTorch < 0.4.1 lack num_batches_tracked."""
    old = OrderedDict((k, v) for k, v in case['authors'].items()
                      if not k.endswith('num_batches_tracked'))
    assert len(old) < len(case['authors'])
    dst, report = convert(old)
    assert report.ok
    assert check_against(dst, case['model'].state_dict()) == []
    case['model'].load_state_dict(dst, strict=True, assign=True)


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


def test_head_output_equals_the_authors(case):
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
    model = case['model']
    dst, _ = convert(case['authors'])
    model.load_state_dict(dst, strict=True, assign=True)
    hrnet = case['name'].endswith('hrnet')
    channels, stride = (32, 4) if hrnet else (2048, 32)
    g = torch.Generator().manual_seed(1)
    feat = torch.randn(2, channels, 256 // stride, 192 // stride,
                       generator=g)
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
    sd = OrderedDict(authors(CASES['simdr-pose_hrnet'][0]))
    sd['criterion.weight'] = torch.zeros(1)
    sd['module_list.0.weight'] = torch.zeros(1)
    with pytest.raises(UnmappedKeysError) as err:
        convert(sd)
    assert "'criterion.weight', 'module_list.0.weight'" in str(err.value)
    assert str(err.value).startswith('2 of 1760 keys have no simdr_ext name')
    dst, report = convert(sd, strict=False)
    assert report.unmapped == ['criterion.weight', 'module_list.0.weight']
    assert len(dst) == 1758 and 'unmapped: criterion.weight' in \
        report.summary()


def test_not_a_state_dict_is_a_clear_error():
    with pytest.raises(TypeError, match="entry 'epoch' is a int"):
        convert({'conv1.weight': torch.zeros(1), 'epoch': 3})


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


def run_tool(argv):
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'convert_simdr_checkpoint',
        osp.join(REPO, 'tools/misc/convert_simdr_checkpoint.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool.main(argv)


@pytest.fixture(scope='module')
def upfree_training_checkpoint(tmp_path_factory):
    """The authors' ``checkpoint.pth`` of the upsample-free model: the
    ``DataParallel`` state dict (``module.`` keys) under ``state_dict``,
    next to ``best_state_dict`` (bare keys), epoch, perf and optimizer
    (leeyegy/SimCC tools/train.py)."""
    sd = authors(CASES['simdr-pose_resnet_upfree'][0])
    path = tmp_path_factory.mktemp('authors') / 'checkpoint.pth'
    torch.save(
        dict(
            epoch=140,
            model='pose_resnet_upfree',
            state_dict=OrderedDict(('module.' + k, v) for k, v in sd.items()),
            best_state_dict=sd,
            perf=0.7,
            optimizer=dict(state={}, param_groups=[dict(lr=1e-3)])), path)
    return path, sd


def test_cli_converts_checks_and_writes(upfree_training_checkpoint,
                                        tmp_path, capsys):
    src, sd = upfree_training_checkpoint
    config = find_config(*CASES['simdr-pose_resnet_upfree'][1])
    dst = tmp_path / 'converted.pth'
    assert run_tool([str(src), str(dst), '--config', config]) == 0
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
    assert run_tool([
        str(src),
        str(dst), '--config',
        find_config(*CASES['simdr-pose_resnet'][1])
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
    assert run_tool([str(src), str(dst)]) == 1
    captured = capsys.readouterr()
    assert 'unmapped: extra.weight' in captured.out
    assert "error: 1 of 2 keys have no simdr_ext name" in captured.err
    assert "'extra.weight'" in captured.err
    assert not dst.exists()


def test_cli_names_a_missing_file(tmp_path, capsys):
    missing = tmp_path / 'nope.pth'
    assert run_tool([str(missing), str(tmp_path / 'out.pth')]) == 1
    assert f'checkpoint {missing} does not exist' in capsys.readouterr().err


def test_cli_names_a_file_that_is_no_checkpoint(tmp_path, capsys):
    text = tmp_path / 'notes.pth'
    text.write_text('not a checkpoint')
    assert run_tool([str(text), str(tmp_path / 'out.pth')]) == 1
    err = capsys.readouterr().err
    assert f'cannot read {text} as a PyTorch checkpoint' in err
    assert '\n' not in err.rstrip('\n')
