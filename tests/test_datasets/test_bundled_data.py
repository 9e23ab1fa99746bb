# Copyright (c) simdr_ext contributors. All rights reserved.
"""Configs find the bundled data by a function, not by text pasted into
them: a checkout in a folder with quotes, shell and Python syntax in its
name parses, and nothing in the name runs."""
import os.path as osp
import shutil

import pytest
from mmengine.config import Config

from simdr_ext.datasets import bundled_data_root

QUICKSTART = osp.join('configs', 'quickstart',
                      'simdr_res18_1xb12-300e_coco-mini-128x96.py')
#: folder names that, pasted into a Python string literal, end it (a quote)
#: or run code that creates ``marker`` in the working folder
FOLDERS = {
    'quote': "it's $(touch marker) {x} {{y}}",
    'code': "x'+__import__('os').system('touch marker')+'",
}


def test_the_bundled_data_root_holds_the_samples():
    root = bundled_data_root()
    assert osp.isabs(root)
    for name in ('coco/test_coco.json', 'crowdpose/test_crowdpose.json',
                 'mpii/test_mpii.json'):
        assert osp.isfile(osp.join(root, name)), name
    assert bundled_data_root('coco', '').endswith(osp.join('coco', ''))


@pytest.mark.parametrize('folder', list(FOLDERS.values()), ids=list(FOLDERS))
def test_configs_in_a_folder_with_quotes_in_its_name_parse(
        repo_root, tmp_path, monkeypatch, folder):
    checkout = tmp_path / folder
    shutil.copytree(osp.join(repo_root, 'configs'), checkout / 'configs')
    shutil.copytree(osp.join(repo_root, 'tests', 'data'),
                    checkout / 'tests' / 'data')
    work = tmp_path / 'work'
    work.mkdir()
    monkeypatch.chdir(work)
    cfg = Config.fromfile(str(checkout / QUICKSTART))
    assert not (work / 'marker').exists(), 'the folder name ran as code'
    for split in ('train', 'val', 'test'):
        dataset = cfg[f'{split}_dataloader'].dataset
        assert osp.isfile(osp.join(dataset.data_root, dataset.ann_file))
    assert osp.isfile(cfg.val_evaluator.ann_file)
