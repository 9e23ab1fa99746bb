# Copyright (c) simdr_ext contributors. All rights reserved.
"""Every config in configs/: its settings, a real training step, the index.

- Settings (cheap): the name says what the config holds (representation,
  backbone, GPUs x batch, epochs, dataset, input size); input size, split
  ratio and heatmap size are written once, in a ``codec`` dict, and that
  codec is the head's decoder and every data set's ``codec`` (which fills
  ``TopdownAffine`` and ``GenerateTarget``).
- One training step per config (CPU, batch 1): the config's own train
  pipeline on a bundled image of its dataset (tests/data), the model built
  with ``init_cfg=None``, ``model.loss`` and a backward pass that reaches
  every parameter.
- mmpose's released SimCC weights load into the mmpose-architecture
  configs with ``strict=True`` and give identical outputs (random weights,
  no network).
- tools/train.py runs 2 iterations of one config per representation.
- model-index.yml / metafiles / model_zoo.md list every config; ``mim
  search`` and ``mim download`` see them.
"""
import ast
import copy
import functools
import glob
import os
import os.path as osp
import random
import re
import subprocess

import numpy as np
import pytest
import torch
import yaml
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.hub import get_config
from mmengine.registry import init_default_scope

from mmpose.registry import DATASETS, MODELS, TRANSFORMS
from simdr_ext.datasets import bind_codec
from tools.analysis.model_table import PAPER, build_model, load_config

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG_ROOT = osp.join(REPO, 'configs')
with open(osp.join(CONFIG_ROOT, 'recipes.yml')) as _f:
    RECIPE_ROWS = yaml.safe_load(_f)
#: every config file, leaves and bases
ALL_FILES = sorted(
    glob.glob(osp.join(CONFIG_ROOT, '**', '*.py'), recursive=True))
#: every leaf config, tokenpose included
LEAVES = [p for p in ALL_FILES if '_base_' not in p]
LEAF_IDS = [osp.basename(p)[:-3] for p in LEAVES]
# the SimDR paper's configs and the quickstart; configs/tokenpose/ (another
# representation family, with _base_ files) has tests/test_configs_tokenpose.py
FOLDERS = ('heatmap', 'dark', 'simdr', 'sasimdr', 'quickstart')
CONFIGS = sorted(
    p for folder in FOLDERS for p in glob.glob(
        osp.join(CONFIG_ROOT, folder, '**', '*.py'), recursive=True))
PAPER_CONFIGS = [c for c in CONFIGS if '/quickstart/' not in c]
IDS = [osp.basename(c)[:-3] for c in CONFIGS]
PAPER_IDS = [osp.basename(c)[:-3] for c in PAPER_CONFIGS]

NAME_RE = re.compile(
    r'^(?P<repr>heatmap|dark|simdr|sasimdr)_'
    r'(?P<backbone>res50|res101|res152|hrnet-w32|hrnet-w48|mobilenetv2)'
    r'(?P<wo>_wo-deconv)?_(?P<gpus>\d+)xb(?P<batch>\d+)-(?P<epochs>\d+)e_'
    r'(?P<dataset>coco|crowdpose|mpii)-(?P<h>\d+)x(?P<w>\d+)$')
PRETRAINED = {
    'res50': 'torchvision://resnet50',
    'res101': 'torchvision://resnet101',
    'res152': 'torchvision://resnet152',
    'hrnet-w32': 'https://download.openmmlab.com/mmpose/pretrain_models/'
    'hrnet_w32-36af842e.pth',
    'hrnet-w48': 'https://download.openmmlab.com/mmpose/pretrain_models/'
    'hrnet_w48-8ef0771d.pth',
    'mobilenetv2': 'mmcls://mobilenet_v2',
}
NUM_KEYPOINTS = dict(coco=17, crowdpose=14, mpii=16)
# the bundled samples of each dataset (tests/data/README.md)
BUNDLED = dict(
    coco=('coco', 'test_coco.json'),
    crowdpose=('crowdpose', 'test_crowdpose.json'),
    mpii=('mpii', 'test_mpii.json'))

MMPOSE_CONFIGS = osp.join(
    osp.dirname(__import__('mmpose').__file__), '.mim', 'configs',
    'body_2d_keypoint', 'simcc', 'coco')
# our config -> (mmpose's config, mmpose's metafile)
MMPOSE_RELEASED = {
    'sasimdr_res50_8xb64-210e_coco-256x192':
    ('simcc_res50_8xb64-210e_coco-256x192', 'resnet_coco.yml'),
    'sasimdr_res50_8xb32-140e_coco-384x288':
    ('simcc_res50_8xb32-140e_coco-384x288', 'resnet_coco.yml'),
    'sasimdr_mobilenetv2_wo-deconv_8xb64-210e_coco-256x192':
    ('simcc_mobilenetv2_wo-deconv-8xb64-210e_coco-256x192',
     'mobilenetv2_coco.yml'),
}


@pytest.fixture(scope='module', autouse=True)
def one_thread():
    """One intra-op thread: on the shared 2-core machine, two processes
    with two spinning OpenMP threads each run 10-20x slower than with one
    (measured: HRNet-W48 at 128x128, 37 s against 0.6 s per step)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# mmengine resolves ``mmpose::`` bases (configs/_base_/default_runtime.py) by
# reading all of mmpose's ~150 metafiles again for every config parsed,
# half of the parse time; the files do not change during a run
_config_module = __import__('mmengine.config.config', fromlist=['_'])
_config_module._get_external_cfg_path = functools.lru_cache(maxsize=None)(
    _config_module._get_external_cfg_path)


@functools.lru_cache(maxsize=None)
def _parsed(path: str) -> Config:
    return Config.fromfile(path)


def parsed(path: str) -> Config:
    """The config at ``path``, parsed once per test run (mmengine takes
    about 0.1 s a file); a copy, as callers change it."""
    return copy.deepcopy(_parsed(path))


@pytest.fixture(scope='module', params=PAPER_CONFIGS, ids=PAPER_IDS)
def paper_config(request):
    return request.param, parsed(request.param)


# --- settings --------------------------------------------------------------


def test_no_config_uses_text_substitution():
    """mmengine pastes ``{{fileDirname}}``, ``{{_base_.x}}`` and
    ``{{$ENV:x}}`` into a config's Python text before running it: a
    checkout path with a quote breaks the config, and a crafted one runs
    code. Paths come from functions (``simdr_ext.datasets
    .bundled_data_root``), values from ``_base_``."""
    files = glob.glob(osp.join(CONFIG_ROOT, '**', '*.py'), recursive=True)
    assert files
    offenders = []
    for path in files:
        with open(path, encoding='utf-8') as f:
            offenders += [
                f'{osp.relpath(path, REPO)}:{n}'
                for n, line in enumerate(f, 1) if '{{' in line
            ]
    assert not offenders, offenders


def test_every_config_is_named_and_filed_by_the_convention():
    assert len(PAPER_CONFIGS) >= 50
    for path in PAPER_CONFIGS:
        name = osp.basename(path)[:-3]
        m = NAME_RE.match(name)
        assert m, f'{name} does not follow the naming convention'
        assert osp.relpath(osp.dirname(path), CONFIG_ROOT) == \
            f"{m['repr']}/{m['dataset']}", path


def test_settings_match_the_name(paper_config):
    path, cfg = paper_config
    m = NAME_RE.match(osp.basename(path)[:-3])
    w, h = int(m['w']), int(m['h'])
    assert tuple(cfg.codec.input_size) == (w, h)
    assert cfg.train_cfg.max_epochs == int(m['epochs'])
    assert cfg.train_dataloader.batch_size == int(m['batch'])
    # the name's GPUs x batch, unless the source scales from another base
    # (configs/recipes.yml base_batch_size)
    assert cfg.auto_scale_lr.base_batch_size == RECIPE_ROWS[osp.basename(
        path)[:-3]].get('base_batch_size',
                        int(m['gpus']) * int(m['batch']))
    assert cfg.optim_wrapper.optimizer.type == 'Adam'
    milestones = {140: [90, 120], 210: [170, 200]}[int(m['epochs'])]
    assert cfg.param_scheduler[-1].milestones == milestones
    assert cfg.custom_imports == dict(
        imports=['simdr_ext'], allow_failed_imports=False)
    head = cfg.model.head
    assert head.out_channels == NUM_KEYPOINTS[m['dataset']]
    assert cfg.model.test_cfg.flip_test is True
    assert cfg.model.backbone.init_cfg.checkpoint == \
        PRETRAINED[m['backbone']]
    assert cfg.train_dataloader.dataset.data_root == f"data/{m['dataset']}/"
    val = cfg.val_dataloader.dataset
    if m['dataset'] == 'coco':
        assert val.bbox_file == ('data/coco/person_detection_results/'
                                 'COCO_val2017_detections_AP_H_56_person.json')
    elif m['dataset'] == 'crowdpose':
        assert val.bbox_file.startswith('data/crowdpose/')
    else:
        assert val.headbox_file == 'data/mpii/annotations/mpii_gt_val.mat'


def test_codec_type_head_and_loss_match_the_name(paper_config):
    path, cfg = paper_config
    m = NAME_RE.match(osp.basename(path)[:-3])
    codec_type = {
        'heatmap': 'MSRAHeatmap',
        'dark': 'DarkHeatmap',
        'simdr': 'SimDRLabel',
        'sasimdr': 'SASimDRLabel'
    }[m['repr']]
    assert cfg.codec.type == codec_type
    head = cfg.model.head
    if m['repr'] in ('simdr', 'sasimdr'):
        assert head.type == 'SimDRHead'
        assert head.in_featuremap_stride == (4 if 'hrnet' in m['backbone'] else
                                             32)
        no_deconv = bool(m['wo']) or 'hrnet' in m['backbone']
        assert (head.deconv_out_channels is None) == no_deconv
        loss = ('SimDRKLLoss'
                if codec_type == 'SASimDRLabel' else 'SoftLabelCELoss')
        # files with LOSS.TYPE NMTCritierion / NMTNORMCritierion
        # (configs/recipes.yml loss_normalisation) train with that loss
        row = RECIPE_ROWS[osp.basename(path)[:-3]]
        loss = dict(NMT='NMTLoss', NMTNORM='NMTNormLoss').get(
            row['loss_normalisation'], loss)
        assert head.loss.type == loss
    else:
        assert head.type == 'HeatmapHead'
        assert tuple(cfg.codec.heatmap_size) == (int(m['w']) // 4,
                                                 int(m['h']) // 4)


def coco_counterpart(path: str):
    """The COCO config with the representation, backbone, epochs and input
    size of the CrowdPose / MPII config at ``path`` (None if there is
    none, as for MPII's 256x256)."""
    m = NAME_RE.match(osp.basename(path)[:-3])
    pattern = (f"{m['repr']}_{m['backbone']}{m['wo'] or ''}_*xb*-"
               f"{m['epochs']}e_coco-{m['h']}x{m['w']}.py")
    found = glob.glob(osp.join(CONFIG_ROOT, m['repr'], 'coco', pattern))
    assert len(found) <= 1, found
    return found[0] if found else None


DATA_VARIANTS = [(p, coco_counterpart(p)) for p in PAPER_CONFIGS
                 if '/coco/' not in p and coco_counterpart(p)]


@pytest.mark.parametrize('path,coco', DATA_VARIANTS,
                         ids=[osp.basename(p)[:-3] for p, _ in DATA_VARIANTS])
def test_a_crowdpose_or_mpii_config_is_its_coco_counterpart(path, coco):
    """Only the data set, keypoint count, batch and (MPII's SimDR files)
    label smoothing and loss (LOSS.TYPE NMTNORMCritierion, leeyegy/SimCC
    experiments/mpii/hrnet/simdr/*.yaml l.95) differ from the COCO config
    of the same model."""
    assert len(DATA_VARIANTS) >= 6
    cfg, ref = parsed(path), parsed(coco)
    assert cfg.model.backbone == ref.model.backbone
    skip = {'out_channels', 'decoder'}
    if cfg.model.head.loss.type != ref.model.head.loss.type:
        assert (cfg.model.head.loss.type,
                ref.model.head.loss.type) == ('NMTNormLoss', 'NMTLoss')
        skip.add('loss')
    assert {k: v for k, v in cfg.model.head.items() if k not in skip} == \
        {k: v for k, v in ref.model.head.items() if k not in skip}
    assert cfg.model.test_cfg == ref.model.test_cfg
    codec, ref_codec = cfg.codec.to_dict(), ref.codec.to_dict()
    codec.pop('label_smoothing', None)
    ref_codec.pop('label_smoothing', None)
    assert codec == ref_codec
    for key in ('train_cfg', 'param_scheduler', 'optim_wrapper'):
        assert cfg[key] == ref[key], key
    assert cfg.train_dataloader.dataset.type != ref.dataset_type


# --- each fact written once ------------------------------------------------

#: what only a codec may write; everything else refers to it
FACTS = ('input_size', 'split_ratio', 'heatmap_size')


def _refers_to_codec(node: ast.AST) -> bool:
    """``codec['input_size']`` or ``codec.input_size``."""
    if not isinstance(node, (ast.Subscript, ast.Attribute)):
        return False
    return isinstance(node.value, ast.Name) and node.value.id == 'codec'


def written_facts(source: str) -> list:
    """``(fact, line, in_codec)`` for every place a config file writes a
    value of :data:`FACTS` (a keyword or dict key that is not a reference to
    the codec); ``in_codec``: inside a top-level ``codec = dict(...)``."""
    tree = ast.parse(source)
    in_codec = set()
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == 'codec'
                for t in stmt.targets):
            in_codec |= {id(n) for n in ast.walk(stmt.value)}
    found = []
    for node in ast.walk(tree):
        pairs = []
        if isinstance(node, ast.Call):
            pairs = [(k.arg, k.value) for k in node.keywords]
        elif isinstance(node, ast.Dict):
            pairs = [(getattr(k, 'value', None), v)
                     for k, v in zip(node.keys, node.values)]
        found += [(key, value.lineno, id(value) in in_codec)
                  for key, value in pairs
                  if key in FACTS and not _refers_to_codec(value)]
    return sorted(found, key=lambda fact: fact[1])


def base_files(path: str) -> list:
    """``path`` and every file of its ``_base_`` chain (mmpose's own bases
    left out)."""
    with open(path) as f:
        tree = ast.parse(f.read())
    chain = [path]
    for stmt in tree.body:
        if (isinstance(stmt, ast.Assign)
                and getattr(stmt.targets[0], 'id', None) == '_base_'):
            for base in ast.literal_eval(stmt.value):
                if '::' not in base:
                    chain += base_files(
                        osp.normpath(osp.join(osp.dirname(path), base)))
    return chain


def fact_problems(path: str, source: str) -> list:
    """Why ``source`` breaks the rule: a fact written outside the codec or
    twice in one file."""
    problems = []
    facts = written_facts(source)
    for fact, line, in_codec in facts:
        if not in_codec:
            problems.append(f'{path}:{line}: {fact} written outside the '
                            'codec (refer to codec[...] or leave it to it)')
    for fact in FACTS:
        lines = [line for f, line, _ in facts if f == fact]
        if len(lines) > 1:
            problems.append(f'{path}: {fact} written {len(lines)} times '
                            f'(lines {lines})')
    return problems


@pytest.mark.parametrize('path', LEAVES, ids=LEAF_IDS)
def test_input_size_split_ratio_and_heatmap_size_are_written_once(path):
    """Each file of the config's chain writes each fact at most once, in
    its codec; a leaf that changes its parent's codec states only what
    differs, and the parent's other uses refer to the codec."""
    problems = []
    for file in base_files(path):
        with open(file) as f:
            problems += fact_problems(osp.relpath(file, REPO), f.read())
    assert not problems, '\n'.join(problems)


def test_the_fact_check_finds_restated_values():
    source = """
codec = dict(type='SimDRLabel', input_size=(192, 256), split_ratio=2.0)
model = dict(head=dict(input_size=codec['input_size'], split_ratio=2.0))
pipeline = [dict(type='TopdownAffine', input_size=(192, 256))]
"""
    assert fact_problems('leaf.py', source) == [
        'leaf.py:3: split_ratio written outside the codec (refer to '
        'codec[...] or leave it to it)',
        'leaf.py:4: input_size written outside the codec (refer to '
        'codec[...] or leave it to it)',
        'leaf.py: input_size written 2 times (lines [2, 4])',
        'leaf.py: split_ratio written 2 times (lines [2, 3])',
    ]


@pytest.mark.parametrize('path', LEAVES, ids=LEAF_IDS)
def test_head_backbone_and_every_pipeline_get_the_one_codec(path):
    """Resolved: the head's decoder and every data set's ``codec`` are the
    config's codec; the head and the training pipeline state no geometry of
    their own, the test pipeline holds the codec's input size as written
    (mmpose's ``inference_topdown`` and ``MMPoseInferencer`` build it from the
    config alone), and once the data set fills them TopdownAffine has the
    codec's input size and training's GenerateTarget the codec as encoder."""
    cfg = parsed(path)
    codec = cfg.codec.to_dict()
    head, backbone = cfg.model.head, cfg.model.backbone
    assert head.decoder.to_dict() == codec
    assert not set(FACTS) & set(head), 'the head reads them from decoder'
    if backbone.type == 'TokenPose':
        assert tuple(backbone.input_size) == tuple(codec['input_size'])
    # MMPoseInferencer reads these two top-level keys
    assert cfg.data_mode == 'topdown'
    for split in ('train', 'val', 'test'):
        dataset = cfg[f'{split}_dataloader'].dataset
        assert dataset.codec.to_dict() == codec, split
        assert dataset.type == cfg.dataset_type, split
        written = [
            t for t in dataset.pipeline
            if t['type'] in ('TopdownAffine', 'GenerateTarget')
        ]
        if split == 'train':
            assert all(set(t) == {'type'} for t in written), written
        else:
            assert [tuple(t['input_size']) for t in written] == [
                tuple(codec['input_size'])
            ], written
            for step in dataset.pipeline:  # buildable without the data set
                TRANSFORMS.build(step)
        filled = bind_codec(dataset.pipeline, dataset.codec)
        sizes = [t['input_size'] for t in filled
                 if t['type'] == 'TopdownAffine']
        assert sizes == [tuple(codec['input_size'])], split
        encoders = [t['encoder'] for t in filled
                    if t['type'] == 'GenerateTarget']
        assert encoders == ([dataset.codec] if split == 'train' else []), \
            split


# --- a real training step on CPU -------------------------------------------


def bundled_sample(cfg, dataset: str) -> dict:
    """One packed training sample from the config's own train pipeline."""
    folder, ann = BUNDLED[dataset]
    ds_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    root = osp.join(REPO, 'tests', 'data', folder)
    ds_cfg.update(data_root=root, ann_file=ann, data_prefix=dict(img=root))
    init_default_scope('mmpose')
    dataset = DATASETS.build(ds_cfg)
    random.seed(0)
    np.random.seed(0)
    return pseudo_collate([dataset[0]])


@pytest.mark.parametrize('path', CONFIGS, ids=IDS)
def test_builds_and_trains_one_step_on_cpu(path):
    cfg = load_config(path)
    name = osp.basename(path)[:-3]
    m = NAME_RE.match(name)
    dataset = m['dataset'] if m else 'coco'
    torch.manual_seed(0)
    # PyTorch's default initialisation: init_weights() would only log
    model = build_model(cfg).train()
    data = model.data_preprocessor(bundled_sample(cfg, dataset), True)
    w, h = cfg.codec.input_size
    assert data['inputs'].shape == (1, 3, h, w)
    losses = model(**data, mode='loss')
    loss = sum(v for k, v in losses.items() if 'loss' in k)
    assert loss.ndim == 0 and torch.isfinite(loss), losses
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing, f'no gradient for {missing[:5]}'


# --- mmpose's released SimCC weights load as published ---------------------


@pytest.mark.parametrize('ours', list(MMPOSE_RELEASED))
def test_mmpose_released_weights_load_strictly_with_identical_outputs(
        ours, tmp_path):
    theirs, metafile = MMPOSE_RELEASED[ours]
    path = osp.join(CONFIG_ROOT, 'sasimdr', 'coco', f'{ours}.py')
    cfg = load_config(path)
    # load_from is the published checkpoint (mmpose's metafile)
    with open(osp.join(MMPOSE_CONFIGS, metafile)) as f:
        entry = [
            e for e in yaml.safe_load(f)['Models'] if e['Name'] == theirs
        ][0]
    assert Config.fromfile(path).load_from == entry['Weights']

    their_cfg = get_config(f'mmpose::body_2d_keypoint/simcc/coco/{theirs}.py')
    their_cfg.model.backbone.init_cfg = None
    init_default_scope('mmpose')
    their_model = MODELS.build(their_cfg.model).eval()
    torch.manual_seed(0)
    for p in their_model.parameters():
        torch.nn.init.normal_(p, std=0.02)
    for name, buf in their_model.named_buffers():
        if name.endswith('running_mean'):
            buf.normal_()
        elif name.endswith('running_var'):
            buf.uniform_(0.5, 2)
    torch.save(their_model.state_dict(), tmp_path / 'released.pth')
    state = torch.load(tmp_path / 'released.pth', weights_only=True)

    our_model = build_model(cfg)
    result = our_model.load_state_dict(state, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    w, h = cfg.codec.input_size
    image = torch.randn(1, 3, h, w)
    with torch.no_grad():
        their_x, their_y = their_model(image, None, mode='tensor')
        our_x, our_y = our_model(image, None, mode='tensor')
    assert our_x.shape == (1, 17, 2 * w) and our_y.shape == (1, 17, 2 * h)
    assert torch.equal(our_x, their_x) and torch.equal(our_y, their_y)


# --- tools/train.py: 2 iterations per representation -----------------------

SMOKE = {
    'heatmap': 'heatmap/coco/heatmap_res50_4xb32-140e_coco-64x64.py',
    'dark': 'dark/coco/dark_hrnet-w32_4xb32-210e_coco-256x192.py',
    'simdr': 'simdr/coco/simdr_res50_wo-deconv_4xb32-140e_coco-128x128.py',
    'sasimdr': 'sasimdr/coco/sasimdr_res50_4xb32-140e_coco-384x288.py',
}


@pytest.mark.parametrize('rep', list(SMOKE))
def test_train_tool_runs_two_iterations(rep, python, tmp_path):
    """12 people with keypoints in tests/data/coco, batch 6: 2 iterations."""
    coco = osp.join(REPO, 'tests', 'data', 'coco') + '/'
    opts = [
        'train_cfg.max_epochs=1',
        'train_dataloader.batch_size=6',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        f'train_dataloader.dataset.data_root={coco}',
        'train_dataloader.dataset.ann_file=test_coco.json',
        f'train_dataloader.dataset.data_prefix.img={coco}',
        'model.backbone.init_cfg=None',
        'val_cfg=None',
        'val_dataloader=None',
        'val_evaluator=None',
        'test_cfg=None',
        'test_dataloader=None',
        'test_evaluator=None',
        'default_hooks.checkpoint.interval=-1',
        'default_hooks.logger.interval=1',
    ]
    proc = subprocess.run(
        [
            python, 'tools/train.py',
            osp.join(CONFIG_ROOT, SMOKE[rep]), '--work-dir',
            str(tmp_path), '--cfg-options'
        ] + opts,
        cwd=REPO,
        env=dict(os.environ, OMP_NUM_THREADS='1'),
        capture_output=True,
        text=True,
        timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    iters = re.findall(
        r'Epoch\(train\)\s+\[1\]\[\s*(\d+)/(\d+)\].*?'
        r'loss: (\S+)', out)
    assert [(i, n) for i, n, _ in iters] == [('1', '2'),
                                             ('2', '2')], out[-3000:]
    assert all(np.isfinite(float(loss)) for _, _, loss in iters)


# --- model index, metafiles, model zoo, mim --------------------------------


def metafile_models():
    with open(osp.join(REPO, 'model-index.yml')) as f:
        imports = yaml.safe_load(f)['Import']
    models, collections = [], []
    for imp in imports:
        with open(osp.join(REPO, imp)) as f:
            meta = yaml.safe_load(f)
        collections += [c['Name'] for c in meta.get('Collections', [])]
        models += [(imp, m) for m in meta['Models']]
    return imports, models, collections


def test_model_index_lists_every_config_once():
    imports, models, collections = metafile_models()
    assert 'configs/quickstart/metafile.yml' in imports
    ours = [
        m['Name'] for _, m in models if m['Config'].split('/')[1] in FOLDERS
    ]
    assert sorted(ours) == sorted(IDS)
    assert len(collections) == len(set(collections))
    for imp, m in models:
        assert m['In Collection'] in collections
        assert osp.isfile(osp.join(REPO, m['Config']))
        assert osp.basename(m['Config'])[:-3] == m['Name']
        if m['Name'] in IDS:
            # one metafile per configs/<repr>/<dataset>/ folder
            assert osp.dirname(m['Config']) == osp.dirname(imp)
    weights = {
        m['Name']: m.get('Weights')
        for _, m in models if m['Name'] in IDS
    }
    for ours, (theirs, metafile) in MMPOSE_RELEASED.items():
        with open(osp.join(MMPOSE_CONFIGS, metafile)) as f:
            entry = [
                e for e in yaml.safe_load(f)['Models'] if e['Name'] == theirs
            ][0]
        assert weights.pop(ours) == entry['Weights']
    # no other entry claims a checkpoint (openmim needs the field: [''])
    assert all(w == [''] for w in weights.values())


def mim(*args, cwd):
    exe = osp.join(osp.dirname(__import__('sys').executable), 'mim')
    return subprocess.run([exe, *args],
                          cwd=cwd,
                          capture_output=True,
                          text=True,
                          timeout=300)


def test_mim_search_lists_every_entry(tmp_path):
    proc = mim('search', 'simdr_ext', cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-2000:]
    listed = re.findall(r'config id: (\S+)', proc.stdout)
    _, models, _ = metafile_models()
    assert sorted(listed) == sorted(m['Name'] for _, m in models)
    assert set(IDS) <= set(listed)


def test_mim_download_writes_the_config(tmp_path):
    """mim downloads the weights, then dumps the config. Without network
    the checkpoint is put in place first, which mim then keeps."""
    name = 'sasimdr_mobilenetv2_wo-deconv_8xb64-210e_coco-256x192'
    url = Config.fromfile(
        osp.join(CONFIG_ROOT, 'sasimdr', 'coco', f'{name}.py')).load_from
    placeholder = tmp_path / osp.basename(url)
    placeholder.write_bytes(b'')
    proc = mim(
        'download',
        'simdr_ext',
        '--config',
        name,
        '--dest',
        str(tmp_path),
        cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert 'exists in' in proc.stdout
    dumped = Config.fromfile(str(tmp_path / f'{name}.py'))
    assert dumped.codec == dumped.model.head.decoder
    assert dumped.model.head.type == 'SimDRHead'


def test_mim_download_serves_every_entry(tmp_path, monkeypatch):
    """Every model-index entry through openmim's own download code, the
    network stubbed: entries with weights fetch each URL and write the
    config; entries without (``Weights: ['']``) write the config alone and
    end without a traceback."""
    import importlib
    mim_download = importlib.import_module('mim.commands.download')
    fetched = []

    def fake_fetch(url, dest_path, **kwargs):
        fetched.append(url)
        with open(dest_path, 'wb') as f:
            f.write(b'stub')

    monkeypatch.setattr(mim_download, 'download_from_file', fake_fetch)
    _, models, _ = metafile_models()
    names = [m['Name'] for _, m in models]
    mim_download.download('simdr_ext', names, dest_root=str(tmp_path))
    for _, m in models:
        dumped = Config.fromfile(str(tmp_path / f"{m['Name']}.py"))
        assert dumped.codec == dumped.model.head.decoder, m['Name']
    with_weights = [
        m['Weights'] for _, m in models if isinstance(m['Weights'], str)
    ]
    assert sorted(fetched) == sorted(with_weights)
    assert len(with_weights) == 3
