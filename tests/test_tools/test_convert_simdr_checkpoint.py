# Copyright (c) simdr_ext contributors. All rights reserved.
"""The SimDR authors' checkpoint converter, on their key layout.

No authors' checkpoint is downloaded: for each architecture the authors'
state dict is built from our model's own state dict by the inverse map,
written in the authors' names (pose_resnet / pose_hrnet), and converted
back. The authors' names are asserted independently (their module names
and the [ConvTranspose2d, BatchNorm2d, ReLU] deconv layout), so the test
checks the mapping against the real module names of mmpose's ResNet, HRNet
and HeatmapHead.
"""
import os.path as osp
import re
import subprocess

import pytest
import torch
from torch import nn

from simdr_ext.analysis.model_table import build_model, load_config
from simdr_ext.utils.convert_simdr import check_against, convert

CASES = {
    'simdr-pose_resnet':
    'simdr/coco/simdr_res50_4xb32-140e_coco-64x64.py',
    'simdr-pose_resnet_upfree':
    'simdr/coco/simdr_res50_wo-deconv_4xb32-140e_coco-64x64.py',
    'simdr-pose_hrnet':
    'simdr/coco/simdr_hrnet-w32_4xb32-210e_coco-64x64.py',
    'heatmap-pose_resnet':
    'heatmap/coco/heatmap_res50_4xb32-140e_coco-64x64.py',
    'heatmap-pose_hrnet':
    'heatmap/coco/heatmap_hrnet-w32_4xb32-210e_coco-64x64.py',
}
# first-level module names of the authors' pose_resnet.py / pose_hrnet.py
AUTHORS_TOP = {
    'pose_resnet': {
        'conv1', 'bn1', 'layer1', 'layer2', 'layer3', 'layer4',
        'deconv_layers', 'final_layer', 'mlp_head_x', 'mlp_head_y'
    },
    'pose_hrnet': {
        'conv1', 'bn1', 'conv2', 'bn2', 'layer1', 'transition1', 'stage2',
        'transition2', 'stage3', 'transition3', 'stage4', 'final_layer',
        'mlp_head_x', 'mlp_head_y'
    },
}


@pytest.fixture(scope='module', autouse=True)
def one_thread():
    """One intra-op thread: the 2-core machine is shared, and competing
    OpenMP thread pools slow each other down many times over."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def to_authors(key: str) -> str:
    """Inverse map, written independently of the converter."""
    for ours, theirs in [('backbone.', ''), ('head.deconv_head.', ''),
                         ('head.', '')]:
        if key.startswith(ours):
            return theirs + key[len(ours):]
    raise AssertionError(f'unexpected key {key}')


@pytest.fixture(scope='module', params=list(CASES), ids=list(CASES))
def case(request, repo_root):
    cfg = load_config(osp.join(repo_root, 'configs', CASES[request.param]))
    model = build_model(cfg)
    torch.manual_seed(0)
    for p in model.parameters():
        nn.init.normal_(p)
    ours = model.state_dict()
    authors = {to_authors(k): v for k, v in ours.items()}
    return request.param, model, ours, authors


def test_authors_names_are_the_authors_modules(case):
    name, model, _, authors = case
    layout = name.split('-')[1].replace('_upfree', '')
    tops = {k.split('.')[0] for k in authors}
    assert tops <= AUTHORS_TOP[layout], tops - AUTHORS_TOP[layout]
    if 'deconv_layers' in tops:
        # authors: Sequential(ConvTranspose2d, BatchNorm2d, ReLU) x 3, i.e.
        # parameters at 0 / 1, 3 / 4, 6 / 7; mmpose's HeatmapHead must use
        # the same indices
        idx = {
            int(k.split('.')[1])
            for k in authors if k.startswith('deconv_layers.')
        }
        assert idx == {0, 1, 3, 4, 6, 7}
        head = model.head
        deconv = (
            head.deconv_head.deconv_layers
            if hasattr(head, 'deconv_head') else head.deconv_layers)
        kinds = [nn.ConvTranspose2d, nn.BatchNorm2d, nn.ReLU] * 3
        assert len(deconv) == len(kinds)
        assert all(isinstance(m, k) for m, k in zip(deconv, kinds))
        assert deconv[0].bias is None
    if layout == 'pose_hrnet':
        # keys of the HRNet code base's pose_hrnet checkpoints
        for key in [
                'transition1.0.0.weight', 'transition1.1.0.0.weight',
                'stage2.0.fuse_layers.0.1.0.weight',
                'stage2.0.fuse_layers.1.0.0.0.weight',
                'stage4.2.fuse_layers.0.3.0.weight',
                'stage4.2.branches.3.3.conv2.weight', 'final_layer.weight'
        ]:
            assert key in authors, key
        # the last stage-4 module outputs the stride-4 branch only
        assert not any(
            k.startswith('stage4.2.fuse_layers.1.') for k in authors)
    else:
        for key in ['layer1.0.downsample.0.weight', 'layer4.2.bn3.weight']:
            assert key in authors, key


@pytest.mark.parametrize('prefix', ['', 'module.'], ids=['plain', 'module'])
def test_round_trip_loads_strictly_and_keeps_tensors(case, prefix):
    name, model, ours, authors = case
    src = {prefix + k: v for k, v in authors.items()}
    dst, report = convert(src)
    assert report.ok, report.unmapped
    assert report.stripped_prefix == prefix
    assert report.head == name.split('-')[0]
    assert report.backbone == name.split('-')[1].replace('_upfree', '')
    assert list(dst) == list(ours)
    for key, value in ours.items():
        assert dst[key] is authors[to_authors(key)]
    assert check_against(dst, ours) == []
    model.load_state_dict(dst, strict=True)


def test_missing_num_batches_tracked_still_loads_strictly(case):
    """Checkpoints from PyTorch < 0.4.1 lack num_batches_tracked."""
    _, model, ours, authors = case
    old = {
        k: v
        for k, v in authors.items() if not k.endswith('num_batches_tracked')
    }
    dst, report = convert(old)
    assert report.ok
    assert check_against(dst, ours) == []
    model.load_state_dict(dst, strict=True)


def test_unknown_keys_are_reported_not_converted():
    src = {
        'conv1.weight': torch.zeros(1),
        'mlp_head_x.weight': torch.zeros(1),
        'criterion.weight': torch.zeros(1),
        'module_list.0.weight': torch.zeros(1),
    }
    dst, report = convert(src)
    assert report.unmapped == ['criterion.weight', 'module_list.0.weight']
    assert not report.ok
    assert set(dst) == {'backbone.conv1.weight', 'head.mlp_head_x.weight'}
    assert 'unmapped: criterion.weight' in report.summary()


def test_check_against_reports_shape_and_key_problems():
    ref = {
        'a': torch.zeros(2, 3),
        'b': torch.zeros(1),
        'bn.num_batches_tracked': torch.zeros(())
    }
    problems = check_against({
        'a': torch.zeros(3, 2),
        'c': torch.zeros(1)
    }, ref)
    assert problems == [
        'missing: b', 'unexpected: c',
        'shape: a checkpoint (3, 2) vs model (2, 3)'
    ]


def run(cmd, cwd):
    return subprocess.run(
        cmd, cwd=cwd, capture_output=True, text=True, timeout=300)


def test_cli_converts_checks_and_writes_a_weights_only_checkpoint(
        tmp_path, python, repo_root):
    config = osp.join(repo_root, 'configs', CASES['simdr-pose_resnet_upfree'])
    model = build_model(load_config(config))
    authors = {
        'module.' + to_authors(k): v
        for k, v in model.state_dict().items()
    }
    src = tmp_path / 'final_state.pth'
    # the authors' training checkpoints hold the model under 'state_dict'
    torch.save(dict(epoch=140, state_dict=authors, perf=0.5), src)
    dst = tmp_path / 'converted.pth'
    proc = run([
        python, 'tools/misc/convert_simdr_checkpoint.py',
        str(src),
        str(dst), '--config', config
    ], repo_root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'head: simdr' in proc.stdout and 'matches the model' in proc.stdout
    ckpt = torch.load(dst, weights_only=True)
    model.load_state_dict(ckpt['state_dict'], strict=True)
    assert re.search(r'mapped keys: \d+', proc.stdout)


def test_cli_exits_non_zero_on_unmapped_keys(tmp_path, python, repo_root):
    src = tmp_path / 'bad.pth'
    torch.save({
        'conv1.weight': torch.zeros(1),
        'extra.weight': torch.zeros(1)
    }, src)
    dst = tmp_path / 'out.pth'
    proc = run(
        [python, 'tools/misc/convert_simdr_checkpoint.py',
         str(src),
         str(dst)], repo_root)
    assert proc.returncode == 1
    assert 'unmapped: extra.weight' in proc.stdout
    assert not dst.exists()


def test_cli_exits_non_zero_when_the_config_does_not_match(
        tmp_path, python, repo_root):
    """A pose_resnet checkpoint is not an HRNet config's model."""
    config = osp.join(repo_root, 'configs', CASES['simdr-pose_resnet_upfree'])
    model = build_model(load_config(config))
    src = tmp_path / 'res.pth'
    torch.save({to_authors(k): v for k, v in model.state_dict().items()}, src)
    proc = run([
        python, 'tools/misc/convert_simdr_checkpoint.py',
        str(src),
        str(tmp_path / 'x.pth'), '--config',
        osp.join(repo_root, 'configs', CASES['simdr-pose_hrnet'])
    ], repo_root)
    assert proc.returncode == 1
    assert 'missing: backbone.stage2' in proc.stdout
    assert not (tmp_path / 'x.pth').exists()
