# Copyright (c) simdr_ext contributors. All rights reserved.
"""CheckedRunner's safety rules, and the checks run before training,
validation and testing."""
import os
import os.path as osp
import re
import subprocess
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from mmpose.datasets.transforms import GenerateTarget, TopdownAffine
from mmpose.registry import KEYPOINT_CODECS, MODELS
from simdr_ext.engine import (CheckedRunner, RepresentationCheckHook,
                              state_dict_differences)

QUIET = [
    'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'val_dataloader.persistent_workers=False'
]


def run(cmd, cwd):
    return subprocess.run(
        cmd, cwd=cwd, capture_output=True, text=True, timeout=600)


def bare_runner():
    """A CheckedRunner with only a model: enough for its save_checkpoint
    with Runner.save_checkpoint replaced."""
    runner = CheckedRunner.__new__(CheckedRunner)
    runner.model = torch.nn.Linear(2, 2)
    return runner


def test_interrupted_save_leaves_no_checkpoint_under_the_final_name(
        tmp_path, monkeypatch):

    def dies_half_way(self, out_dir, filename, *args, **kwargs):
        (tmp_path / filename).write_bytes(b'PK\x03\x04 truncated')
        raise KeyboardInterrupt  # what a kill would do mid-write

    monkeypatch.setattr(Runner, 'save_checkpoint', dies_half_way)
    with pytest.raises(KeyboardInterrupt):
        bare_runner().save_checkpoint(str(tmp_path), 'epoch_3.pth')
    assert not (tmp_path / 'epoch_3.pth').exists()
    # an interrupt that Python sees also removes the partial file
    assert not (tmp_path / 'epoch_3.pth.tmp').exists()


def test_save_renames_the_complete_file(tmp_path, monkeypatch):

    def writes(self, out_dir, filename, *args, **kwargs):
        torch.save({'state_dict': {}}, os.path.join(out_dir, filename))

    monkeypatch.setattr(Runner, 'save_checkpoint', writes)
    bare_runner().save_checkpoint(str(tmp_path), 'epoch_1.pth')
    assert sorted(p.name for p in tmp_path.iterdir()) == ['epoch_1.pth']


def test_state_dict_differences_lists_each_problem():
    model = {'a': torch.zeros(2), 'b': torch.zeros(3, 4), 'c': torch.zeros(1)}
    ckpt = {'a': torch.zeros(2), 'b': torch.zeros(4, 4), 'd': torch.zeros(1)}
    assert state_dict_differences(model, ckpt) == [
        'missing: c', 'unexpected: d',
        'shape: b checkpoint (4, 4) vs model (3, 4)'
    ]
    assert state_dict_differences(model, model) == []


CODEC = dict(type='SimDRLabel', input_size=(96, 128), split_ratio=2.0)


def runner_with(phase, encoder=CODEC, input_size=(96, 128), keypoints=17):
    """What the hook reads of a runner: the head (17 keypoints, decoder
    ``CODEC``) and the ``phase`` data set (its pipeline and metainfo)."""
    head = SimpleNamespace(out_channels=17,
                           decoder=KEYPOINT_CODECS.build(CODEC))
    pipeline = [TopdownAffine(input_size=input_size)]
    if encoder is not None:
        pipeline.append(GenerateTarget(encoder=encoder))
    dataset = SimpleNamespace(
        metainfo=dict(num_keypoints=keypoints, dataset_name='toy'),
        pipeline=SimpleNamespace(transforms=pipeline))
    # wrapped, as RepeatDataset wraps one
    loader = SimpleNamespace(dataset=SimpleNamespace(
        dataset=dataset, metainfo=dataset.metainfo))
    return SimpleNamespace(model=SimpleNamespace(head=head),
                           **{f'_{phase}_loop': SimpleNamespace(
                               dataloader=loader)})


@pytest.mark.parametrize('phase,kwargs,message', [
    ('train', dict(encoder=dict(CODEC, split_ratio=3.0)),
     "the train pipeline's GenerateTarget has split_ratio=3.0 but "
     'model.head.decoder has split_ratio=2.0'),
    ('train', dict(encoder=dict(CODEC, label_smoothing=0.1)),
     'GenerateTarget has label_smoothing=0.1 but model.head.decoder has '
     'label_smoothing=0.0'),
    ('train', dict(encoder=dict(type='SASimDRLabel', input_size=(96, 128))),
     "GenerateTarget has type='SASimDRLabel' but model.head.decoder has "
     "type='SimDRLabel'"),
    ('val', dict(encoder=None, input_size=(128, 96)),
     "the val pipeline's TopdownAffine has input_size=(128, 96) but "
     'model.head.decoder has input_size=(96, 128)'),
    ('test', dict(encoder=None, keypoints=14),
     'the test dataset has 14 keypoints (toy) but the head predicts 17'),
], ids=['split_ratio', 'label', 'type', 'crop_size', 'keypoints'])
def test_data_disagreeing_with_the_head_is_refused(phase, kwargs, message):
    hook = RepresentationCheckHook()
    check = dict(train=hook.before_train, val=hook.before_val,
                 test=hook.before_test)[phase]
    with pytest.raises(ValueError, match=re.escape(message)):
        check(runner_with(phase, **kwargs))
    check(runner_with(phase))  # the same phase with consistent data passes


def test_decoding_only_arguments_may_differ():
    sa = dict(type='SASimDRLabel', input_size=(96, 128), sigma=4.0)
    runner = runner_with('train', encoder=sa)
    runner.model.head.decoder = KEYPOINT_CODECS.build(
        dict(sa, decode_refine=True))
    RepresentationCheckHook().before_train(runner)
    runner.model.head.decoder = KEYPOINT_CODECS.build(dict(sa, sigma=5.0))
    with pytest.raises(ValueError, match=r'sigma=\(4.0, 4.0\)'):
        RepresentationCheckHook().before_train(runner)


@pytest.mark.slow
def test_mmposes_own_train_tool_runs_the_check(tmp_path, python, repo_root,
                                                quickstart_config):
    """mmpose's tools/train.py builds a plain ``Runner``; the check comes
    from ``custom_hooks`` in configs/_base_/default_runtime.py."""
    import mmpose
    tool = osp.join(osp.dirname(mmpose.__file__), '.mim', 'tools',
                    'train.py')
    proc = run([
        python, tool, quickstart_config, '--work-dir',
        str(tmp_path), '--cfg-options', 'model.head.decoder.split_ratio=3.0',
        *QUIET
    ], repo_root)
    assert proc.returncode != 0
    assert ("the train pipeline's GenerateTarget has split_ratio=2.0 but "
            'model.head.decoder has split_ratio=3.0') in proc.stderr, \
        proc.stderr[-3000:]
    assert not list(tmp_path.glob('*.pth'))


@pytest.fixture(scope='module')
def random_checkpoint(tmp_path_factory, quickstart_config):
    """A checkpoint of the quickstart architecture with random weights."""
    init_default_scope('mmpose')
    cfg = Config.fromfile(quickstart_config)
    model = MODELS.build(cfg.model)
    path = tmp_path_factory.mktemp('ckpt') / 'random.pth'
    torch.save({'state_dict': model.state_dict()}, path)
    return path


def test_checkpoint_of_another_architecture_is_reported(
        tmp_path, random_checkpoint, python, repo_root, quickstart_config):
    proc = run([
        python, 'tools/test.py', quickstart_config,
        str(random_checkpoint), '--work-dir',
        str(tmp_path), '--cfg-options',
        'model.head.deconv_out_channels=[64]',
        'model.head.deconv_kernel_sizes=[4]', *QUIET
    ], repo_root)
    assert proc.returncode != 0
    err = proc.stderr
    assert 'does not fit this model' in err
    assert 'shape: head.deconv_head.deconv_layers.0.weight' in err
    assert 'unexpected: head.deconv_head.deconv_layers.3.weight' in err


class CallsOsSystem:

    def __reduce__(self):
        return (os.system, ('echo this must not run', ))


def test_malicious_checkpoint_is_refused_with_advice(tmp_path, python,
                                                     repo_root,
                                                     quickstart_config):
    bad = tmp_path / 'bad.pth'
    torch.save({'state_dict': {}, 'meta': CallsOsSystem()}, bad)
    proc = run([
        python, 'tools/test.py', quickstart_config,
        str(bad), '--work-dir',
        str(tmp_path), '--cfg-options', *QUIET
    ], repo_root)
    assert proc.returncode != 0
    assert 'this must not run' not in proc.stdout
    assert 'Refused to load' in proc.stderr
    assert 'posix.system' in proc.stderr or 'os.system' in proc.stderr
    assert 'Only if you trust the file' in proc.stderr


def test_dataset_with_another_keypoint_count_stops_training(
        tmp_path, python, repo_root, quickstart_config):
    root = os.path.join(repo_root, 'tests', 'data', 'crowdpose') + '/'
    proc = run([
        python, 'tools/train.py', quickstart_config, '--work-dir',
        str(tmp_path), '--cfg-options',
        'train_dataloader.dataset.type=CheckedCrowdPoseDataset',
        f'train_dataloader.dataset.data_root={root}',
        'train_dataloader.dataset.ann_file=test_crowdpose.json',
        'train_cfg.max_epochs=1', 'train_cfg.val_interval=100', *QUIET
    ], repo_root)
    assert proc.returncode != 0
    assert 'the train dataset has 14 keypoints' in proc.stderr
    assert 'the head predicts 17' in proc.stderr
