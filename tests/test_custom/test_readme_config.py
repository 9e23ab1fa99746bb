# Copyright (c) simdr_ext contributors. All rights reserved.
"""The config of README.md's "Using simdr_ext in your own configs" trains
as written from another folder, serves inference, and the same config with
an argless test pipeline is refused before training."""
import os.path as osp
import re
import subprocess
import sys
from types import SimpleNamespace

import pytest
from mmengine.config import Config

from simdr_ext.engine import RepresentationCheckHook
from simdr_ext.engine.runner import inference_pipeline_problem

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SECTION = '## Using simdr_ext in your own configs'
# the README's test loader, and the argless one the check refuses
BOUND = 'val_dataloader = test_dataloader = dict('
ARGLESS = ('val_dataloader = test_dataloader = dict(dataset=dict(data, '
           'codec=codec, pipeline=test_pipeline, test_mode=True))\n'
           'unused = dict(')


def readme_config() -> str:
    """The first ``python`` block of the README's section."""
    with open(osp.join(REPO, 'README.md'), encoding='utf-8') as f:
        text = f.read()
    assert SECTION in text
    section = text[text.index(SECTION):]
    match = re.search(r'```python\n(.*?)```', section, re.S)
    assert match, 'no python block in the section'
    return match.group(1)


def write(folder, text: str) -> str:
    path = osp.join(str(folder), 'my_config.py')
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text)
    return path


def test_the_readme_config_is_complete_for_fitting_and_inference(
        tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = Config.fromfile(write(tmp_path, readme_config()))
    # what mmpose's runner, MMPoseInferencer and inference_topdown read
    assert cfg.model.data_preprocessor.type == 'PoseDataPreprocessor'
    assert cfg.dataset_type == 'CheckedCocoDataset'
    assert cfg.data_mode == 'topdown'
    for split in ('train', 'val', 'test'):
        loader = cfg[f'{split}_dataloader']
        assert loader.batch_size and loader.sampler.type == 'DefaultSampler'
        assert osp.isfile(osp.join(loader.dataset.data_root,
                                   loader.dataset.ann_file)), split
    affine = [t for t in cfg.test_dataloader.dataset.pipeline
              if t['type'] == 'TopdownAffine']
    assert [tuple(t['input_size']) for t in affine] == [(192, 256)]
    assert inference_pipeline_problem(cfg) is None
    assert osp.isfile(cfg.val_evaluator.ann_file)


def test_an_argless_test_pipeline_is_refused_before_fitting(
        tmp_path, monkeypatch):
    text = readme_config()
    assert BOUND in text
    monkeypatch.chdir(tmp_path)
    cfg = Config.fromfile(write(tmp_path, text.replace(BOUND, ARGLESS)))
    assert cfg.test_dataloader.dataset.pipeline[2] == dict(
        type='TopdownAffine')
    runner = SimpleNamespace(cfg=cfg, model=SimpleNamespace())
    with pytest.raises(ValueError, match=re.escape(
            'test_dataloader.dataset.pipeline: TopdownAffine has no '
            'input_size')) as err:
        RepresentationCheckHook().before_train(runner)
    assert 'codec_loader(codec, test_pipeline' in str(err.value)
    # a test pipeline given the input size passes, and so does a config
    # without a test loader
    cfg.test_dataloader.dataset.pipeline[2]['input_size'] = (192, 256)
    RepresentationCheckHook().before_train(runner)
    assert inference_pipeline_problem(Config(dict(model=cfg.model))) is None


def run_train_tool(config: str, cwd, *options: str):
    return subprocess.run([
        sys.executable, osp.join(REPO, 'tools', 'train.py'), config,
        '--work-dir', 'work', '--cfg-options', *options
    ], cwd=str(cwd), capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_the_readme_config_trains_one_iteration_from_another_folder(
        tmp_path):
    config = write(tmp_path, readme_config())
    # 12 people, batch 12: one epoch is one iteration
    proc = run_train_tool(config, tmp_path, 'train_cfg.max_epochs=1')
    assert proc.returncode == 0, proc.stderr[-3000:]
    log = proc.stdout + proc.stderr
    assert re.search(r'Epoch\(train\) \[1\]\[1/1\].*loss_kpt: \d', log), \
        log[-2000:]
    assert (tmp_path / 'work' / 'epoch_1.pth').is_file()
    assert 'coco/AP' in log  # validated on the last epoch


@pytest.mark.slow
def test_the_train_tool_refuses_an_argless_test_pipeline(tmp_path):
    config = write(tmp_path, readme_config().replace(BOUND, ARGLESS))
    proc = run_train_tool(config, tmp_path, 'train_cfg.max_epochs=1')
    assert proc.returncode != 0
    assert 'TopdownAffine has no input_size' in proc.stderr
    assert 'codec_loader(codec, test_pipeline' in proc.stderr
    assert 'Epoch(train)' not in proc.stdout + proc.stderr
    assert not list((tmp_path / 'work').glob('*.pth'))
