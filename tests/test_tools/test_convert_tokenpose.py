# Copyright (c) simdr_ext contributors. All rights reserved.
"""The TokenPose authors' checkpoint converter, on their key layout.

No authors' checkpoint exists to download (none was released,
leeyegy/TokenPose#4-#6): for each variant the authors' state dict is built
from our model's own by an inverse map written here independently of the
converter, in the authors' names (leeyegy/TokenPose ``ac939fa``:
``features`` / ``transformer`` wrappers, ``Residual(PreNorm(..))`` layers,
``FeedForward.net`` indices 0 and 3), and converted back.
"""
import importlib.util
import os.path as osp
import re
import subprocess

import pytest
import torch

from simdr_ext.analysis.model_table import build_model, load_config
from simdr_ext.utils.convert_tokenpose import convert, map_key

CASES = {
    # name: (config, wrapper of the authors' base module, stacks)
    'S': ('dark_tokenpose-s_8xb32-300e_coco-256x192.py', 'features', 1),
    'T': ('dark_tokenpose-t_8xb32-300e_coco-256x192.py', 'transformer', 1),
    'B': ('dark_tokenpose-b_8xb32-300e_coco-256x192.py', 'transformer', 1),
    'L-D24':
    ('dark_tokenpose-l-d24_8xb16-300e_coco-256x192.py', 'transformer', 3),
}
STEM = ('conv1', 'bn1', 'conv2', 'bn2', 'layer1', 'transition1', 'transition2',
        'stage2', 'stage3')
LAYER_PARTS = {
    'norm1': '0.fn.norm',
    'attn.qkv': '0.fn.fn.to_qkv',
    'attn.proj': '0.fn.fn.to_out.0',
    'norm2': '1.fn.norm',
    'mlp.fc1': '1.fn.fn.net.0',
    'mlp.fc2': '1.fn.fn.net.3',
}


def to_authors(key: str, wrapper: str, stacks: int) -> str:
    """Our key -> the authors' (inverse map, independent of the converter).

    S keeps its stem inside ``features`` (``TokenPose_S_base``); B and L
    have the HRNet stem at the top level and the base in ``transformer``.
    """
    if key.startswith('backbone.stem.'):
        rest = key[len('backbone.stem.'):]
        return f'{wrapper}.{rest}' if wrapper == 'features' else rest
    if key.startswith('head.mlp_head.'):
        return f'{wrapper}.{key[len("head."):]}'
    m = re.match(r'backbone\.transformers\.(\d)\.layers\.(\d+)\.(.+)\.(\w+)$',
                 key)
    if m:
        t, i, part, param = m.groups()
        name = f'transformer{int(t) + 1}' if stacks == 3 else 'transformer'
        return f'{wrapper}.{name}.layers.{i}.{LAYER_PARTS[part]}.{param}'
    plain = {
        'backbone.keypoint_tokens': 'keypoint_token',
        'backbone.pos_embed': 'pos_embedding',
        'backbone.patch_embed.proj.weight': 'patch_to_embedding.weight',
        'backbone.patch_embed.proj.bias': 'patch_to_embedding.bias',
    }
    return f'{wrapper}.{plain[key]}'


@pytest.fixture(scope='module', params=list(CASES), ids=list(CASES))
def case(request, repo_root):
    config, wrapper, stacks = CASES[request.param]
    cfg = load_config(osp.join(repo_root, 'configs/tokenpose/coco', config))
    model = build_model(cfg)
    torch.manual_seed(0)
    ours = {
        k: torch.randn_like(v.float()).to(v.dtype)
        for k, v in model.state_dict().items()
    }
    authors = {to_authors(k, wrapper, stacks): v for k, v in ours.items()}
    return request.param, model, ours, authors, stacks


def test_authors_names_look_like_theirs(case):
    name, _, _, authors, stacks = case
    tops = {k.split('.')[0] for k in authors}
    if name == 'S':
        assert tops == {'features'}
    elif name == 'T':
        assert tops == {'transformer'}
    else:
        assert tops == {'transformer'} | set(STEM)
    inner = {
        k.split('.')[1]
        for k in authors if k.startswith(('features.', 'transformer.'))
    }
    want = {
        'keypoint_token', 'pos_embedding', 'patch_to_embedding', 'mlp_head'
    }
    want |= ({'transformer1', 'transformer2', 'transformer3'}
             if stacks == 3 else {'transformer'})
    if name == 'S':
        want |= {'conv1', 'bn1', 'conv2', 'bn2', 'layer1'}
    assert inner == want


def test_round_trip_and_strict_load(case):
    _, model, ours, authors, stacks = case
    dst, report = convert(authors)
    assert report.ok, report.summary()
    assert report.num_transformers == stacks
    assert set(dst) == set(ours)
    for key, value in ours.items():
        assert torch.equal(dst[key], value), key
    model.load_state_dict(dst, strict=True)


def test_data_parallel_prefix_is_dropped(case):
    _, _, ours, authors, _ = case
    dst, report = convert({f'module.{k}': v for k, v in authors.items()})
    assert report.ok and report.stripped_prefix == 'module.'
    assert set(dst) == set(ours)


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
    ('stage3.3.fuse_layers.0.1.0.weight',
     'backbone.stem.stage3.3.fuse_layers.0.1.0.weight'),
    ('features.keypoint_token', 'backbone.keypoint_tokens'),
    ('transformer.pos_embedding', 'backbone.pos_embed'),
    ('features.mlp_head.3.weight', 'head.mlp_head.3.weight'),
])
def test_single_keys(src, dst):
    out, report = convert({src: torch.zeros(1)})
    assert report.ok and list(out) == [dst]


@pytest.mark.parametrize('key', [
    'features.final_layer.weight', 'transformer.transformer.layers.0.2.fn.x',
    'mlp_head_x.weight', 'features.transformer.layers.0.0.fn.fn.to_qkv.bias'
])
def test_unknown_keys_are_reported(key):
    out, report = convert({key: torch.zeros(1)})
    assert not report.ok and report.unmapped == [key] and not out
    assert map_key(key) is None
    assert key in report.summary()


def test_cli_writes_a_loadable_checkpoint_and_fails_on_unmapped(
        tmp_path, python, repo_root):
    config = osp.join(repo_root, 'configs/tokenpose/coco', CASES['S'][0])
    model = build_model(load_config(config))
    authors = {
        to_authors(k, 'features', 1): v
        for k, v in model.state_dict().items()
    }
    src, dst = tmp_path / 'authors.pth', tmp_path / 'ours.pth'
    torch.save(dict(state_dict=authors), src)
    spec = importlib.util.spec_from_file_location(
        'convert_tokenpose_checkpoint',
        osp.join(repo_root, 'tools/misc/convert_tokenpose_checkpoint.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    assert tool.main([str(src), str(dst), '--config', config]) == 0
    ckpt = torch.load(dst, weights_only=True)
    model.load_state_dict(ckpt['state_dict'], strict=True)

    torch.save(dict(authors, **{'features.extra.weight': torch.zeros(1)}), src)
    bad = tmp_path / 'bad.pth'
    proc = subprocess.run([
        python, 'tools/misc/convert_tokenpose_checkpoint.py',
        str(src),
        str(bad)
    ],
                          cwd=repo_root,
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert 'features.extra.weight' in proc.stdout
    assert not bad.exists()
