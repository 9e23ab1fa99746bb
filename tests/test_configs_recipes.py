# Copyright (c) simdr_ext contributors. All rights reserved.
"""Every config equals its row of ``configs/recipes.yml``; exact checks of
the architecture against the paper and against mmpose's own configs.

- ``configs/recipes.yml`` is the one record of each config's recipe, every
  row citing the authors' experiment file (or the paper's sentence) its
  values come from. A config that drifts from its row fails here.
- #Params: every ResNet/HRNet row is within the paper's printed rounding
  (|delta| <= 0.05 M); TokenPose rows under the convention written in
  :func:`learned_params`.
- For every ImageNet checkpoint a config starts from, the backbone's
  state-dict keys and shapes equal those of the mmpose config that loads
  the same file (built here, nothing downloaded).
"""
import glob
import os.path as osp
import re
import subprocess

import pytest
import torch
import yaml
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmpose.registry import MODELS
from test_configs import parsed as load  # one parse per config and run
from tools.analysis.model_table import PAPER

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG_ROOT = osp.join(REPO, 'configs')
CONFIGS = sorted(
    p for p in glob.glob(osp.join(CONFIG_ROOT, '**', '*.py'), recursive=True)
    if '_base_' not in p)
IDS = [osp.basename(p)[:-3] for p in CONFIGS]
with open(osp.join(CONFIG_ROOT, 'recipes.yml')) as f:
    RECIPES = yaml.safe_load(f)
MMPOSE_CONFIGS = osp.join(
    osp.dirname(__import__('mmpose').__file__), '.mim', 'configs',
    'body_2d_keypoint')


@pytest.fixture(scope='module', autouse=True)
def scope():
    import simdr_ext  # noqa: F401 (registers the package's modules)
    init_default_scope('mmpose')


def _transform(pipeline: list, *names: str):
    return next((t for t in pipeline if t['type'] in names), None)


#: SimDR codecs' score scale where the config states none
DEFAULT_SCORE_SCALE = dict(SimDRLabel='probability', SASimDRLabel='peak')
#: head_init of a head without ``init_cfg``: its ``default_init_cfg``
DEFAULT_HEAD_INIT = dict(
    SimDRHead='normal_0.01', TokenPoseHeatmapHead='trunc_normal_0.02')


def head_init_of(head: dict):
    """The initialisation of the head's Linear layers: 'normal_0.01',
    'trunc_normal_0.02' or 'torch_default' (no ``init_cfg`` entry for
    Linear: PyTorch's kaiming-uniform default); None for heads without
    Linear layers (mmpose's HeatmapHead)."""
    init = head.get('init_cfg')
    if not init:
        return DEFAULT_HEAD_INIT.get(head['type'])
    if isinstance(init, dict):
        init = [init]
    linear = [
        i for i in init if 'Linear' in (
            [i['layer']] if isinstance(i.get('layer'), str) else list(
                i.get('layer') or []))
    ]
    if not linear:
        return 'torch_default'
    assert len(linear) == 1, linear
    kind = {'Normal': 'normal', 'TruncNormal': 'trunc_normal'}[
        linear[0]['type']]
    return f"{kind}_{linear[0]['std']}"


#: loss type -> recipes.yml loss_normalisation (any other loss: 'plain')
LOSS_NORMALISATION = dict(NMTLoss='NMT', NMTNormLoss='NMTNORM')


def recipe_of(cfg: Config) -> dict:
    """The recipe fields of ``configs/recipes.yml`` read from a config.

    Args:
        cfg (Config): A loaded config.

    Returns:
        dict: One value per recipe field (None where it does not apply).
    """
    codec = cfg.codec
    head = cfg.model.head
    backbone = cfg.model.backbone
    train = cfg.train_dataloader
    pipeline = train.dataset.pipeline
    bbox = _transform(pipeline, 'RandomBBoxTransform',
                      'JointsDatasetBBoxTransform')
    half = _transform(pipeline, 'RandomHalfBody', 'JointsDatasetHalfBody')
    authors = _transform(pipeline, 'JointsDatasetBBoxTransform',
                         'JointsDatasetHalfBody') is not None
    milestones = [
        s for s in cfg.param_scheduler if s['type'] == 'MultiStepLR'
    ][0]['milestones']
    test_cfg = cfg.model.get('test_cfg', {})
    heatmap = codec['type'] in ('MSRAHeatmap', 'DarkHeatmap')
    if bbox is None:
        scale, rotation = 0.0, 0
    elif bbox['type'] == 'JointsDatasetBBoxTransform':
        # the authors' SCALE_FACTOR and ROT_FACTOR themselves
        scale, rotation = bbox['scale_factor'], bbox['rotate_factor']
    else:  # mmpose's defaults where the transform leaves them out
        scale = round(bbox.get('scale_factor', (0.5, 1.5))[1] - 1, 4)
        rotation = bbox.get('rotate_factor', 80.) / 2
    pretrained = (backbone.get('init_cfg') or {}).get('checkpoint')
    if backbone['type'] == 'TokenPose' and backbone.get('hrnet'):
        pretrained = backbone.hrnet.init_cfg.checkpoint
    stages = None
    extra = backbone.get('extra') or (backbone.get('hrnet') or {}).get(
        'extra')
    if extra:
        stages = [
            list(extra[f'stage{i}']['num_channels'])
            for i in range(1, len(extra) + 1)
        ]
    evaluator = cfg.val_evaluator
    return dict(
        codec=codec['type'],
        input_size=list(codec['input_size']),
        heatmap_size=list(codec['heatmap_size']) if heatmap else None,
        split_ratio=None if heatmap else float(codec['split_ratio']),
        label_smoothing=codec.get('label_smoothing')
        if codec['type'] == 'SimDRLabel' else None,
        sigma=codec.get('sigma'),
        blur_kernel=codec.get('blur_kernel_size')
        if codec['type'] == 'DarkHeatmap' else None,
        channels_per_joint=head.get('channels_per_joint'),
        stage_channels=stages,
        epochs=cfg.train_cfg.max_epochs,
        lr_steps=list(milestones),
        optimizer=cfg.optim_wrapper.optimizer.type,
        lr=cfg.optim_wrapper.optimizer.lr,
        batch_per_gpu=train.batch_size,
        base_batch_size=cfg.get('auto_scale_lr',
                                {}).get('base_batch_size', train.batch_size),
        flip=_transform(pipeline, 'RandomFlip') is not None,
        half_body=0 if half is None else half.get('prob', 0.3),
        scale_factor=scale,
        rotation=rotation,
        flip_test=test_cfg.get('flip_test', False),
        flip_test_shift=test_cfg.get('shift_heatmap', False)
        if heatmap else None,
        score_threshold=evaluator.get('keypoint_score_thr', 0.2)
        if evaluator['type'].endswith('CocoMetric') else None,
        pretrained=pretrained,
        color_order='RGB'
        if cfg.model.data_preprocessor.get('bgr_to_rgb', False) else 'BGR',
        flip_fusion=None if heatmap else test_cfg.get(
            'flip_fusion', 'logits'),
        keypoint_score=None if heatmap else '{}-{}'.format(
            codec.get('keypoint_score', 'min'),
            codec.get('score_scale', DEFAULT_SCORE_SCALE[codec['type']])),
        flip_realignment=None if heatmap else test_cfg.get(
            'flip_shift', 'exact'),
        augmentation_sampler='JointsDataset' if authors else 'mmpose',
        box_clipping=None if 'Mpii' in train.dataset.type else
        train.dataset.get('bbox_clip', 'mmpose'),
        off_crop_target=codec.get('off_crop', 'zero_weight')
        if codec['type'] in ('SASimDRLabel', 'DarkHeatmap') else None,
        loss_normalisation=LOSS_NORMALISATION.get(head.loss.type, 'plain'),
        head_init=head_init_of(head),
    )


#: the recipe fields that record a behaviour of the source code (each
#: non-null value cites the line that fixes it)
CITED = ('color_order', 'flip_fusion', 'keypoint_score', 'flip_realignment',
         'augmentation_sampler', 'box_clipping', 'off_crop_target',
         'loss_normalisation', 'head_init', 'base_batch_size')


def test_every_config_has_one_recipe_row():
    assert sorted(RECIPES) == sorted(IDS)


@pytest.mark.parametrize('path', CONFIGS, ids=IDS)
def test_config_equals_its_recipe_row(path):
    row = dict(RECIPES[osp.basename(path)[:-3]])
    assert row.get('source'), 'every row cites its source'
    row.setdefault('base_batch_size', row['batch_per_gpu'] * row['gpus'])
    ours = recipe_of(load(path))
    missing = sorted(k for k in ours if k not in row)
    assert not missing, f'recipes.yml row lacks {missing}'
    differs = {
        k: (ours[k], row[k])
        for k in ours if ours[k] != row[k]
    }
    assert not differs, f'config vs recipes.yml: {differs}'


#: "owner/repo path l.N" or "l.N-M"; ``simdr_ext`` names this repository
CITE_RE = re.compile(r'^(?P<repo>simdr_ext|[\w.-]+/[\w.-]+) (?P<path>\S+) '
                     r'l\.(?P<first>\d+)(?:-(?P<last>\d+))?$')
#: the authors' repositories: mirror and the commit the rows were read at
MIRROR_ROOT = '/work/.mirror'
COMMITS = {
    'leeyegy/SimCC': 'aa6e089',
    'ilovepose/DarkPose': '0185b42',
    'leeyegy/TokenPose': 'ac939fa',
}
MMPOSE_ROOT = osp.dirname(__import__('mmpose').__file__)


def cites_of(name: str) -> list:
    """``(field, value, cite)`` of every cited field of a row."""
    row = RECIPES[name]
    cites = row.get('cites') or {}
    return [(f, row.get(f), cites.get(f)) for f in CITED]


@pytest.mark.parametrize('name', sorted(RECIPES))
def test_every_behaviour_field_cites_a_well_formed_line(name):
    """Each non-null behaviour field names ``repo path l.N``; a cite for a
    field the row does not hold (or holds as null) is an error too."""
    row = RECIPES[name]
    assert set(row.get('cites') or {}) <= set(CITED), sorted(row['cites'])
    for field, value, cite in cites_of(name):
        if value is None:
            assert cite is None, f'{field} is null but cites {cite}'
            continue
        assert cite, f'{field}: {value!r} has no cite'
        m = CITE_RE.match(cite)
        assert m, f'{field}: malformed cite {cite!r}'
        first, last = int(m['first']), int(m['last'] or m['first'])
        assert 1 <= first <= last, cite


def _cited_lines(repo: str, path: str):
    """The cited file's lines, or None where its copy is not here."""
    if repo == 'simdr_ext':
        with open(osp.join(REPO, path)) as f:
            return f.read().splitlines()
    if repo == 'open-mmlab/mmpose':
        # the installed package: its configs live under .mim/
        if path.startswith('configs/'):
            local = osp.join(MMPOSE_ROOT, '.mim', path)
        else:
            local = osp.join(osp.dirname(MMPOSE_ROOT), path)
        with open(local) as f:
            return f.read().splitlines()
    mirror = osp.join(MIRROR_ROOT, repo.replace('/', '+'), 'repo')
    if not osp.isdir(mirror):
        return None
    head = subprocess.run(['git', '-C', mirror, 'rev-parse', 'HEAD'],
                          capture_output=True, text=True, check=True)
    assert head.stdout.startswith(COMMITS[repo]), (repo, head.stdout)
    shown = subprocess.run(['git', '-C', mirror, 'show', f'HEAD:{path}'],
                           capture_output=True, text=True)
    assert shown.returncode == 0, f'{repo} has no {path}'
    return shown.stdout.splitlines()


def all_cites() -> list:
    return sorted({
        cite
        for name in RECIPES for _, _, cite in cites_of(name) if cite
    })


def _check_cites(repos: tuple) -> int:
    """Assert every cite of ``repos`` names an existing file at least as
    long as the cited line; the number checked."""
    checked = 0
    for cite in all_cites():
        m = CITE_RE.match(cite)
        assert m['repo'] in (*COMMITS, 'simdr_ext', 'open-mmlab/mmpose'), \
            f'unknown repository in {cite!r}'
        if m['repo'] not in repos:
            continue
        lines = _cited_lines(m['repo'], m['path'])
        assert int(m['last'] or m['first']) <= len(lines), cite
        checked += 1
    return checked


def test_cited_mmpose_and_package_lines_exist():
    """mmpose's files (the installed package) and this repository's."""
    assert _check_cites(('simdr_ext', 'open-mmlab/mmpose')) >= 9


def test_cited_authors_lines_exist_in_the_mirrors():
    """The authors' files, read in their mirrors at the recorded commit."""
    absent = [
        repo for repo in COMMITS if not osp.isdir(
            osp.join(MIRROR_ROOT, repo.replace('/', '+'), 'repo'))
    ]
    if absent:
        pytest.skip(f'no mirror of {absent} under {MIRROR_ROOT} (CI has '
                    'none): cites checked for form only')
    assert _check_cites(tuple(COMMITS)) > 100


def learned_params(model: torch.nn.Module) -> int:
    """#Params as the papers count them: every learned tensor.

    TokenPose's 2D sine position encoding is fixed (not learned); it is a
    frozen parameter in our TokenPose, and the SimDR paper's TokenPose-S
    figures (Table 2: 6.6M / 5.5M / 5.1M / 4.9M) are met without it, while
    TokenPose's own Table 7 (6.67M for the 2D-sine TokenPose-S-v1) counts
    it. ResNet/HRNet have no frozen tensors, so the count is all
    parameters there.
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


WITH_PARAMS = [
    p for p in CONFIGS
    if getattr(PAPER.get(osp.basename(p)[:-3]), 'params_m', None)
]


def build(path: str) -> torch.nn.Module:
    cfg = load(path)
    cfg.model.backbone.pop('init_cfg', None)
    if cfg.model.backbone.get('hrnet'):
        cfg.model.backbone.hrnet.pop('init_cfg', None)
    with torch.device('meta'):  # shapes only: no weight initialisation
        return MODELS.build(cfg.model)


@pytest.mark.parametrize(
    'path', WITH_PARAMS, ids=[osp.basename(p)[:-3] for p in WITH_PARAMS])
def test_params_within_the_papers_rounding(path):
    """The paper prints #Params to 0.1 M: ours must round to it."""
    paper = PAPER[osp.basename(path)[:-3]].params_m
    ours = learned_params(build(path)) / 1e6
    assert abs(ours - paper) <= 0.05, (ours, paper)


def test_tokenpose_s_counts_as_tokenpose_table_7():
    """All parameters, fixed encoding included: 6,669,888 = TokenPose's
    Table 7 "2D sine" 6.67M (leeyegy/TokenPose tokenpose_base.py)."""
    path = osp.join(CONFIG_ROOT, 'tokenpose', 'coco',
                    'dark_tokenpose-s_4xb32-300e_coco-256x192.py')
    model = build(path)
    assert sum(p.numel() for p in model.parameters()) == 6_669_888


def pretrained_backbones() -> dict:
    """ImageNet checkpoint -> our configs that start from it."""
    out = {}
    for path in CONFIGS:
        ck = recipe_of(load(path))['pretrained']
        if ck:
            out.setdefault(ck, []).append(path)
    return out


# checkpoint -> the mmpose config that loads the same file
MMPOSE_LOADER = {
    'torchvision://resnet50':
    'topdown_heatmap/coco/td-hm_res50_8xb64-210e_coco-256x192.py',
    'torchvision://resnet101':
    'topdown_heatmap/coco/td-hm_res101_8xb64-210e_coco-256x192.py',
    'torchvision://resnet152':
    'topdown_heatmap/coco/td-hm_res152_8xb32-210e_coco-256x192.py',
    'https://download.openmmlab.com/mmpose/pretrain_models/'
    'hrnet_w32-36af842e.pth':
    'topdown_heatmap/coco/td-hm_hrnet-w32_8xb64-210e_coco-256x192.py',
    'https://download.openmmlab.com/mmpose/pretrain_models/'
    'hrnet_w48-8ef0771d.pth':
    'topdown_heatmap/coco/td-hm_hrnet-w48_8xb32-210e_coco-256x192.py',
    'mmcls://mobilenet_v2':
    'simcc/coco/simcc_mobilenetv2_wo-deconv-8xb64-210e_coco-256x192.py',
}
PRETRAINED = pretrained_backbones()


def backbone_layout(cfg: Config) -> dict:
    """``{key: shape}`` of the part of the backbone that loads the
    checkpoint (TokenPose: its HRNet stem)."""
    backbone = cfg.model.backbone.copy()
    backbone.pop('init_cfg', None)
    with torch.device('meta'):  # shapes only: no weight initialisation
        module = MODELS.build(backbone)
    if backbone['type'] == 'TokenPose':
        module = module.stem
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


def test_every_pretrained_checkpoint_has_its_mmpose_loader():
    assert sorted(PRETRAINED) == sorted(MMPOSE_LOADER)


@pytest.mark.parametrize('checkpoint', sorted(MMPOSE_LOADER))
def test_pretrained_layout_equals_mmpose(checkpoint):
    """mmpose's loader takes every tensor of the checkpoint it was written
    for; ours must have the same keys and shapes (TokenPose's HRNet stem:
    the same keys as HRNet's first three stages)."""
    ref = backbone_layout(
        Config.fromfile(osp.join(MMPOSE_CONFIGS, MMPOSE_LOADER[checkpoint])))
    seen = set()
    for path in PRETRAINED[checkpoint]:
        cfg = load(path)
        kind = (cfg.model.backbone['type'],
                len(cfg.model.backbone.get('hrnet', {}).get('extra', {})))
        if kind in seen:
            continue
        seen.add(kind)
        ours = backbone_layout(cfg)
        if cfg.model.backbone['type'] == 'TokenPose':
            missing = {k for k in ours if k not in ref}
            assert not missing, sorted(missing)[:5]
            assert all(ours[k] == ref[k] for k in ours)
            assert any(k.startswith('stage3.') for k in ours)
        else:
            assert ours == ref, path


def test_model_zoo_is_generated_from_its_sources():
    """model_zoo.md equals what the metafiles and recipes.yml give."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'generate_model_zoo',
        osp.join(REPO, 'tools', 'misc', 'generate_model_zoo.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with open(osp.join(REPO, 'model_zoo.md')) as f:
        assert f.read() == module.render(REPO), (
            'model_zoo.md is stale: run tools/misc/generate_model_zoo.py')
