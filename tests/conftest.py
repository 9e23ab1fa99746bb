# Copyright (c) simdr_ext contributors. All rights reserved.
import os.path as osp
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
QUICKSTART = osp.join(REPO, 'configs', 'quickstart',
                      'simdr_res18_1xb12-300e_coco-mini-128x96.py')


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


# every test sees simdr_ext's modules registered, as configs do through
# custom_imports
import simdr_ext  # noqa: E402,F401

#: fixtures whose tests start processes (``python``), train
#: (``trained_quickstart``) or go through mim: the ``slow`` tier
SLOW_FIXTURES = {'python', 'trained_quickstart'}
#: modules whose every test exports, runs ONNX or trains
SLOW_MODULES = {
    'test_export_onnx.py', 'test_onnx_runtime.py', 'test_half_precision.py',
    'test_resume.py', 'test_distributed.py', 'test_bbox_file_testing.py',
    'test_batched_inference.py'
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
