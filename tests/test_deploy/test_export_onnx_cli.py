# Copyright (c) simdr_ext contributors. All rights reserved.
"""``tools/deploy/export_onnx.py --help`` and where the tool finds the
people it checks the export on when no annotation file is given."""
import os.path as osp
import re

import pytest
from mmengine.config import Config

from simdr_ext.datasets import bundled_data_root
from tools.deploy import export_onnx
from tools.deploy.export_onnx import config_metainfo, default_data

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CUSTOM = osp.join(REPO, 'configs', 'custom',
                  'simdr_res18_1xb12-300e_custom5-128x96.py')
QUICKSTART = osp.join(REPO, 'configs', 'quickstart',
                      'simdr_res18_1xb12-300e_coco-mini-128x96.py')


def test_help_documents_every_argument_with_defaults_and_an_example(
        capsys):
    with pytest.raises(SystemExit) as exit_info:
        export_onnx.parse_args(['--help'])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    parser_args = ['config', 'checkpoint', '--out', '--images', '--ann-file',
                   '--max-crops', '--flip-test', '--precision', '--atol']
    options = text[text.index('positional arguments:'):]
    lines = options.splitlines()
    for arg in parser_args:
        i = next(i for i, ln in enumerate(lines)
                 if ln.strip().split(' ')[0] == arg)
        # help text after the argument (two spaces) or on the next line
        assert re.search(r'\S {2,}\S', lines[i]) or re.match(
            r' {20,}\S', lines[i + 1]), arg
    for default in ('(default: 8)', '(default: off)', '(default: fp32)',
                    '(default: 0.001)'):
        assert default in text
    assert '(default: None)' not in text
    # the whole description, as plain text, with its example
    assert 'Example:\n    python tools/deploy/export_onnx.py \\\n' in text
    assert 'mim run simdr_ext export_onnx' in text
    assert '``' not in text and '::' not in text and ':func:' not in text


def test_without_files_the_config_test_data_or_the_bundled_people(
        tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    custom = Config.fromfile(CUSTOM)
    # the config's own test data exists: its annotation file and images
    images, ann = default_data(custom, None, None)
    assert osp.samefile(ann, bundled_data_root('custom5', 'annotations.json'))
    assert osp.samefile(images, bundled_data_root('coco'))
    # a given file of the config's test set keeps the config's images
    images, _ = default_data(
        custom, None, osp.join(REPO, 'tests', 'data', 'custom5',
                               'annotations.json'))
    assert osp.samefile(images, bundled_data_root('coco'))
    # another file: its images beside it
    other = tmp_path / 'mine' / 'ann.json'
    images, ann = default_data(custom, None, str(other))
    assert (images, ann) == (str(tmp_path / 'mine'), str(other))
    # the config's test data missing (data/coco/... relative to here): the
    # bundled COCO people, by absolute path
    quick = Config.fromfile(QUICKSTART)
    quick.test_dataloader.dataset.data_root = 'data/coco/'
    images, ann = default_data(quick, None, None)
    assert ann == bundled_data_root('coco', 'test_coco.json')
    assert osp.isabs(ann) and osp.isfile(ann)
    assert images == bundled_data_root('coco', '')
    assert default_data(quick, 'a', 'b.json') == ('a', 'b.json')


def test_the_metainfo_is_the_config_s_or_its_data_set_class_s(
        tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    custom = config_metainfo(Config.fromfile(CUSTOM))
    assert custom['from_file'].endswith(
        osp.join('custom', '_base_', 'datasets', 'custom5.py'))
    coco = config_metainfo(Config.fromfile(QUICKSTART))
    assert coco['from_file'].endswith(osp.join('datasets', 'coco.py'))
