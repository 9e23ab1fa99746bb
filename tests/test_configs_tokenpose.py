# Copyright (c) simdr_ext contributors. All rights reserved.
"""configs/tokenpose: every config builds and runs; one codec feeds the
head's decoder, the targets and every input size; names, schedule and
metafile agree with the files (each value against the authors' files:
tests/test_configs_recipes.py); TokenPose-S trains two iterations with each
head and validates with flip test on the bundled images.
"""
import glob
import json
import os.path as osp
import re
import subprocess

import pytest
import torch
import yaml
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmpose.registry import MODELS
from test_configs import RECIPE_ROWS, parsed  # one parse per config
from test_configs_recipes import LOSS_NORMALISATION

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
ROOT = osp.join(REPO, 'configs', 'tokenpose')
CONFIGS = sorted(
    p for p in glob.glob(osp.join(ROOT, '*', '*.py')) if '_base_' not in p)
IDS = [osp.splitext(osp.basename(p))[0] for p in CONFIGS]
NAME = re.compile(r'^(?P<repr>heatmap|dark|simdr|sasimdr)_tokenpose-'
                  r'(?P<variant>t|s|b|l-d24|l-d6)_(?P<gpus>\d+)xb'
                  r'(?P<batch>\d+)-(?P<epochs>\d+)e_(?P<data>coco|mpii)-'
                  r'(?P<h>\d+)x(?P<w>\d+)$')
COCO_DETS = ('data/coco/person_detection_results/'
             'COCO_val2017_detections_AP_H_56_person.json')


def load(path: str) -> Config:
    """The config with nothing to download (no Pretrained init_cfg)."""
    cfg = parsed(path)
    cfg.model.backbone.init_cfg = None
    if cfg.model.backbone.get('hrnet'):
        cfg.model.backbone.hrnet.init_cfg = None
    return cfg


@pytest.mark.parametrize('path', CONFIGS, ids=IDS)
def test_head_and_loss_of_each_representation(path):
    """DARK heatmaps: TokenPose's MLP heatmap head with MSE; SimDR: the two
    linear layers on the keypoint tokens with the SimDR authors' loss of
    the row (configs/recipes.yml loss_normalisation). The codec binding
    itself: tests/test_configs.py (every config)."""
    cfg = parsed(path)
    codec, head = cfg.codec, cfg.model.head
    if codec.type == 'DarkHeatmap':
        assert head.type == 'TokenPoseHeatmapHead'
        assert codec.decode_mode == 'dark' and codec.unbiased
        assert head.loss.type == 'KeypointMSELoss' and \
            head.loss.use_target_weight
    else:
        assert codec.type == 'SimDRLabel'
        assert head.type == 'SimDRHead' and head.deconv_out_channels is None
        assert head.embedding_dim == head.in_channels
        want = RECIPE_ROWS[osp.basename(path)[:-3]]['loss_normalisation']
        assert want in ('NMT', 'NMTNORM')
        assert LOSS_NORMALISATION[head.loss.type] == want
    assert cfg.model.test_cfg.flip_test


@pytest.mark.parametrize('path', CONFIGS, ids=IDS)
def test_name_schedule_and_data(path):
    cfg = parsed(path)
    m = NAME.match(osp.splitext(osp.basename(path))[0])
    assert m, f'{path} does not follow the naming pattern'
    assert osp.basename(osp.dirname(path)) == m['data']
    assert cfg.train_dataloader.batch_size == int(m['batch'])
    assert cfg.auto_scale_lr.base_batch_size == int(m['gpus']) * int(
        m['batch'])
    assert tuple(cfg.codec.input_size) == (int(m['w']), int(m['h']))
    # schedule, smoothing, flip shift, ...: tests/test_configs_recipes.py
    assert cfg.train_cfg.max_epochs == int(m['epochs'])
    assert cfg.custom_imports.imports == ['simdr_ext']
    val = cfg.val_dataloader.dataset
    if m['data'] == 'coco':
        assert val.type == cfg.train_dataloader.dataset.type == \
            'CheckedCocoDataset'
        assert val.bbox_file == COCO_DETS
        assert cfg.model.head.out_channels == 17
    else:
        assert val.type == 'CheckedMpiiDataset'
        assert cfg.model.head.out_channels == 16
    assert cfg.test_dataloader.dataset == val
    stem = cfg.model.backbone.get('stem', 'resnet')
    if stem == 'hrnet':
        # ImageNet-pretrained HRNet as mmpose's HRNet configs
        width = cfg.model.backbone.hrnet.extra.stage2.num_channels[0]
        assert cfg.model.backbone.hrnet.init_cfg.checkpoint.endswith({
            32:
            'hrnet_w32-36af842e.pth',
            48:
            'hrnet_w48-8ef0771d.pth'
        }[width])
    # the head reads tokens of the backbone's output length
    tokens = cfg.model.backbone.get('num_transformers', 1) * 192
    assert cfg.model.head.in_channels == tokens


@pytest.mark.parametrize('path', CONFIGS, ids=IDS)
def test_builds_and_runs_at_its_input_size(path):
    cfg = load(path)
    init_default_scope('mmpose')
    w, h = cfg.codec.input_size
    # shapes only (the meta device computes no values): the numbers are
    # the training tests' and tests/test_models' business
    with torch.device('meta'), torch.no_grad():
        model = MODELS.build(cfg.model).eval()
        out = model(torch.empty(1, 3, h, w), None, mode='tensor')
    k = cfg.model.head.out_channels
    if cfg.codec.type == 'DarkHeatmap':
        hw, hh = cfg.codec.heatmap_size
        assert out.shape == (1, k, hh, hw)
    else:
        k_ = cfg.codec.split_ratio
        assert out[0].shape == (1, k, round(w * k_))
        assert out[1].shape == (1, k, round(h * k_))


def test_metafile_lists_every_config_once():
    meta = yaml.safe_load(open(osp.join(ROOT, 'metafile.yml')))
    (collection, ) = meta['Collections']
    assert collection['Name'] == 'TokenPose'
    assert collection['Paper']['URL'] == 'https://arxiv.org/abs/2104.03516'
    models = meta['Models']
    assert sorted(osp.join(REPO, m['Config']) for m in models) == CONFIGS
    for m in models:
        assert m['In Collection'] == 'TokenPose'
        assert m['Name'] == osp.splitext(osp.basename(m['Config']))[0]
        assert m['Weights'] == [''], 'no TokenPose weights were released'
        # the paper's numbers are Metadata.Paper; Results are for weights
        assert 'Results' not in m, m['Name']


def bundled_data_options(data_root: str) -> list:
    """--cfg-options: the 12 people of tests/data/coco, 6 per batch (2
    iterations), one epoch then validation with GT boxes and flip test."""
    opts = [
        'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
        'default_hooks.logger.interval=1', 'randomness.seed=0',
        f'val_evaluator.ann_file={data_root}test_coco.json'
    ]
    for split in ('train', 'val'):
        opts += [
            f'{split}_dataloader.dataset.data_root={data_root}',
            f'{split}_dataloader.dataset.ann_file=test_coco.json',
            f'{split}_dataloader.dataset.data_prefix.img=',
            f'{split}_dataloader.batch_size=6',
            f'{split}_dataloader.num_workers=0',
            f'{split}_dataloader.persistent_workers=False',
        ]
    return opts + ['val_dataloader.dataset.bbox_file=None']


@pytest.mark.parametrize(
    'name', [
        'dark_tokenpose-s_4xb32-300e_coco-256x192',
        'simdr_tokenpose-s_4xb32-210e_coco-256x192'
    ],
    ids=['dark', 'simdr'])
def test_two_iteration_training_and_flip_test_validation(
        name, tmp_path, python, repo_root):
    config = osp.join(ROOT, 'coco', name + '.py')
    data_root = osp.join(repo_root, 'tests', 'data', 'coco') + '/'
    proc = subprocess.run(
        [
            python, 'tools/train.py', config, '--work-dir',
            str(tmp_path), '--cfg-options'
        ] + bundled_data_options(data_root),
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=600)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert re.search(r'Epoch\(train\)\s+\[1\]\[2/2\]', log), log[-3000:]
    losses = [float(v) for v in re.findall(r'loss_kpt: ([0-9.e+-]+)', log)]
    assert len(losses) == 2 and all(map(torch.isfinite, torch.tensor(losses)))
    assert osp.isfile(tmp_path / 'epoch_1.pth')
    # validation ran after the epoch: flip test, decoding, COCO AP
    scalars = sorted(
        glob.glob(str(tmp_path / '*' / 'vis_data' / 'scalars.json')))
    assert scalars, log[-3000:]
    records = [json.loads(line) for line in open(scalars[-1])]
    ap = [r['coco/AP'] for r in records if 'coco/AP' in r]
    assert len(ap) == 1 and 0.0 <= ap[0] <= 1.0
