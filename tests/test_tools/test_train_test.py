# Copyright (c) simdr_ext contributors. All rights reserved.
"""tools/train.py, --resume and tools/test.py on the bundled images.

Each step runs as a separate process, as a user would run it, so checkpoint
loading goes through torch.load(weights_only=True) in a fresh interpreter.
"""
import json
import os.path as osp
import subprocess

import pytest
import torch

SHORT = [
    '--cfg-options', 'train_cfg.max_epochs={}', 'train_cfg.val_interval=100',
    'default_hooks.checkpoint.interval=1', 'default_hooks.logger.interval=1',
    'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'val_dataloader.persistent_workers=False'
]


def short(epochs):
    return [a.format(epochs) for a in SHORT]


def run(cmd, cwd):
    proc = subprocess.run(
        cmd, cwd=cwd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (
        f'{" ".join(cmd)} failed:\n{proc.stdout[-3000:]}\n'
        f'{proc.stderr[-3000:]}')
    return proc.stdout + proc.stderr


@pytest.fixture(scope='module')
def trained(tmp_path_factory, python, repo_root, quickstart_config):
    work = tmp_path_factory.mktemp('train')
    run([
        python, 'tools/train.py', quickstart_config, '--work-dir',
        str(work)
    ] + short(2), repo_root)
    return work


def test_train_writes_loadable_checkpoints(trained):
    assert osp.isfile(trained / 'epoch_2.pth')
    # loads with weights_only=True once simdr_ext has allow-listed what
    # mmengine writes; without the allow-list torch refuses it
    import simdr_ext  # noqa: F401
    ckpt = torch.load(trained / 'epoch_2.pth', weights_only=True)
    assert ckpt['meta']['epoch'] == 2
    assert any(k.startswith('head.mlp_head_x') for k in ckpt['state_dict'])


def test_resume_continues_from_the_checkpoint(trained, python, repo_root,
                                              quickstart_config):
    out = run([
        python, 'tools/train.py', quickstart_config, '--work-dir',
        str(trained), '--resume',
        str(trained / 'epoch_2.pth')
    ] + short(3), repo_root)
    assert 'resumed epoch: 2' in out
    assert osp.isfile(trained / 'epoch_3.pth')


def test_test_tool_prints_and_writes_ap(trained, python, repo_root,
                                        quickstart_config, tmp_path):
    metrics_file = tmp_path / 'metrics.json'
    out = run([
        python, 'tools/test.py', quickstart_config,
        str(trained / 'epoch_2.pth'), '--work-dir',
        str(tmp_path), '--out',
        str(metrics_file), '--cfg-options', 'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False'
    ], repo_root)
    assert 'coco/AP' in out
    metrics = json.loads(metrics_file.read_text())
    assert 0.0 <= metrics['coco/AP'] <= 1.0


def test_mim_train_and_test_from_another_directory(tmp_path, python,
                                                   quickstart_config):
    """mim finds the config by bare name and simdr_ext's tools via .mim."""
    mim = osp.join(osp.dirname(python), 'mim')
    name = osp.basename(quickstart_config)
    run([
        mim, 'train', 'simdr_ext', name, '--work-dir',
        str(tmp_path / 'w')
    ] + short(1), str(tmp_path))
    ckpt = tmp_path / 'w' / 'epoch_1.pth'
    assert ckpt.is_file()
    out = run([
        mim, 'test', 'simdr_ext', name, '-C',
        str(ckpt), '--work-dir',
        str(tmp_path / 't'), '--cfg-options', 'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False'
    ], str(tmp_path))
    assert 'coco/AP' in out
