# Copyright (c) simdr_ext contributors. All rights reserved.
import json
import os
import os.path as osp
import pickle
import subprocess
import sys
from collections import defaultdict

import numpy as np
import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
QUICKSTART = osp.join(REPO, 'configs', 'quickstart',
                      'simdr_res18_1xb12-300e_coco-mini-128x96.py')
COCO = osp.join(REPO, 'tests', 'data', 'coco')

# Processes the tests start (tools/train.py, the demo, mim) import
# simdr_ext, tools and demo from this tree, wherever the virtual
# environment's editable install points.
os.environ['PYTHONPATH'] = os.pathsep.join(
    [REPO] + [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep)
              if p and osp.abspath(p) != REPO])

# the quickstart SimDR model with the head's codec swapped: SimDR* and DARK
# (the DARK head is replaced whole, _delete_, so its codec needs none)
SASIMDR = '''
_base_ = [{base!r}]
codec = dict(_delete_=True, type='SASimDRLabel', input_size=(96, 128),
             split_ratio=2.0, sigma=4.0, decode_refine=True)
model = dict(head=dict(decoder=codec,
                       loss=dict(type='SimDRKLLoss', use_target_weight=True)))
'''

DARK = '''
_base_ = [{base!r}]
codec = dict(type='DarkHeatmap', input_size=(96, 128), heatmap_size=(24, 32),
             sigma=2.0, decode_mode='dark', blur_kernel_size=11)
model = dict(head=dict(_delete_=True, type='HeatmapHead', in_channels=512,
                       out_channels=17, deconv_out_channels=(128, 128, 128),
                       deconv_kernel_sizes=(4, 4, 4),
                       loss=dict(type='KeypointMSELoss',
                                 use_target_weight=True),
                       decoder=codec))
'''


@pytest.fixture(scope='session')
def repo_root() -> str:
    return REPO


@pytest.fixture(scope='session')
def quickstart_config() -> str:
    return QUICKSTART


@pytest.fixture(scope='session')
def python() -> str:
    return sys.executable


@pytest.fixture(scope='session')
def trained_quickstart(tmp_path_factory) -> str:
    """A quickstart checkpoint trained for 80 epochs (~30 s): good enough
    for non-zero AP with detected boxes, for the demo and for export."""
    work = tmp_path_factory.mktemp('quickstart')
    proc = subprocess.run([
        sys.executable, 'tools/train.py', QUICKSTART, '--work-dir',
        str(work), '--cfg-options', 'train_cfg.max_epochs=80',
        'train_cfg.val_interval=1000', 'param_scheduler.1.milestones=[60,75]',
        'default_hooks.checkpoint.interval=80'
    ],
                          cwd=REPO,
                          capture_output=True,
                          text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return str(work / 'epoch_80.pth')


@pytest.fixture(scope='session')
def peaked_checkpoint(request) -> str:
    """A quickstart checkpoint with peaked outputs (random weights give
    flat ones): the 300-epoch one where ``tools/quickstart.py`` wrote it
    (git-ignored), else :func:`trained_quickstart`'s."""
    made = osp.join(REPO, 'work_dirs', 'quickstart', 'epoch_300.pth')
    if osp.isfile(made):
        return made
    return request.getfixturevalue('trained_quickstart')


@pytest.fixture(scope='session')
def bundled_detections():
    """``{image path: (M, 4) float32 xyxy}`` of the bundled detections
    (118 boxes over the 4 bundled COCO images)."""
    with open(osp.join(COCO, 'test_coco_det_AP_H_56.json')) as f:
        dets = json.load(f)
    boxes = defaultdict(list)
    for det in dets:
        x, y, w, h = det['bbox']
        boxes[osp.join(COCO, f'{det["image_id"]:012d}.jpg')].append(
            [x, y, x + w, y + h])
    return {k: np.array(v, np.float32) for k, v in sorted(boxes.items())}


@pytest.fixture(scope='session')
def variant_config(tmp_path_factory):
    """``config(kind)`` → the config file of kind ``simdr`` (the
    quickstart), ``sasimdr`` or ``dark`` (the quickstart with the head's
    codec swapped)."""
    folder = tmp_path_factory.mktemp('variant_configs')

    def config(kind: str) -> str:
        if kind == 'simdr':
            return QUICKSTART
        path = folder / f'{kind}.py'
        template = {'sasimdr': SASIMDR, 'dark': DARK}[kind]
        path.write_text(template.format(base=QUICKSTART))
        return str(path)

    return config


@pytest.fixture(scope='session')
def pose_model_factory(variant_config):
    """``make(kind, checkpoint=None)`` → a CPU model of kind ``simdr``,
    ``sasimdr`` or ``dark`` (:func:`variant_config`; seed 0 weights without
    a checkpoint)."""

    def make(kind, checkpoint=None):
        from mmpose.apis import init_model
        torch.manual_seed(0)
        return init_model(variant_config(kind), checkpoint, device='cpu')

    return make


class _Payload:
    """Unpickling this creates the file at ``path`` (a harmless stand-in
    for any code a pickle can run)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, 'w'))


@pytest.fixture
def pickle_payload(tmp_path):
    """``write(path) -> marker``: write a pickle to ``path`` whose loading
    would create ``marker`` (which must stay absent)."""

    def write(path) -> str:
        marker = tmp_path / 'payload_ran'
        with open(path, 'wb') as f:
            pickle.dump([_Payload(str(marker))], f)
        return marker

    return write


# every test sees simdr_ext's modules registered, as configs do through
# custom_imports
import simdr_ext  # noqa: E402,F401

#: fixtures whose tests start processes (``python``), train
#: (``trained_quickstart``) or go through mim: the ``slow`` tier
SLOW_FIXTURES = {'python', 'trained_quickstart'}
#: modules whose every test exports, runs ONNX or trains
SLOW_MODULES = {
    'test_export_onnx.py', 'test_onnx_runtime.py', 'test_half_precision.py',
    'test_resume.py', 'test_distributed.py', 'test_test_with_detections.py',
    'test_benchmark_inference.py'
}


def pytest_collection_modifyitems(config, items):
    """Mark subprocess, training, mim and export tests ``slow``:
    ``pytest -m "not slow"`` is the quick tier run while editing; the
    README's test command runs everything."""
    for item in items:
        fixtures = set(getattr(item, 'fixturenames', ()))
        if (fixtures & SLOW_FIXTURES or item.path.name in SLOW_MODULES
                or 'mim' in item.name or 'train' in item.name
                or 'released_weights' in item.name):
            item.add_marker(pytest.mark.slow)
