# Copyright (c) simdr_ext contributors. All rights reserved.
"""The 5-keypoint example of docs/custom_dataset.md: its data set and
config, and the documented steps (train, test, demo, mmpose's inference
API, ONNX export) run end to end from a folder outside the repository."""
import json
import os.path as osp
import re
import subprocess
import sys

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmpose.registry import DATASETS
from simdr_ext.datasets import DataFileError, bundled_data_root

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs', 'custom',
                  'simdr_res18_1xb12-300e_custom5-128x96.py')
COCO = osp.join(REPO, 'tests', 'data', 'coco')
IMAGE = osp.join(COCO, '000000000785.jpg')
DETECTIONS = osp.join(COCO, 'test_coco_det_AP_H_56.json')
NAMES = ['nose', 'left_eye', 'right_eye', 'left_shoulder', 'right_shoulder']
EPOCHS = 3


def test_the_documented_commands_name_these_files():
    with open(osp.join(REPO, 'docs', 'custom_dataset.md')) as f:
        doc = f.read()
    for path in (CONFIG, osp.join(REPO, 'tests', 'data', 'custom5',
                                  'annotations.json'),
                 osp.join(REPO, 'configs', 'custom', '_base_', 'datasets',
                          'custom5.py'), IMAGE, DETECTIONS):
        assert osp.relpath(path, REPO) in doc
    for tool in ('tools/train.py', 'tools/test.py', 'demo/topdown_demo.py',
                 'tools/deploy/export_onnx.py'):
        assert f'python {tool} configs/custom/' in doc, tool


def test_the_data_set_has_five_keypoints_from_its_metainfo(
        monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    cfg = Config.fromfile(CONFIG)
    assert cfg.model.head.out_channels == 5
    assert (cfg.dataset_type, cfg.data_mode) == ('CheckedCocoDataset',
                                                 'topdown')
    init_default_scope('mmpose')
    for split in ('train', 'test'):
        dataset = DATASETS.build(cfg[f'{split}_dataloader'].dataset)
        meta = dataset.metainfo
        assert meta['num_keypoints'] == 5, split
        assert [meta['keypoint_id2name'][i] for i in range(5)] == NAMES
        assert meta['flip_indices'] == [0, 2, 1, 4, 3]
        assert len(dataset) == 12, split
    sample = dataset[0]
    assert sample['inputs'].shape == (3, 128, 96)
    assert sample['data_samples'].gt_instances.keypoints.shape == (1, 5, 2)
    # the annotation file holds COCO keypoints 0, 1, 2, 5 and 6
    with open(bundled_data_root('custom5', 'annotations.json')) as f:
        ours = {a['id']: a['keypoints'] for a in json.load(f)['annotations']}
    with open(osp.join(COCO, 'test_coco.json')) as f:
        coco = {a['id']: a['keypoints'] for a in json.load(f)['annotations']}
    for ann_id, kpts in ours.items():
        full = np.reshape(coco[ann_id], (17, 3))
        assert kpts == full[[0, 1, 2, 5, 6]].ravel().tolist()


def test_a_17_keypoint_file_is_refused_by_the_5_keypoint_data_set(
        monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    cfg = Config.fromfile(CONFIG)
    init_default_scope('mmpose')
    with pytest.raises(DataFileError, match=r'test_coco.json: .*"keypoints" '
                       'has 17 keypoints, the data set has 5'):
        DATASETS.build(dict(cfg.test_dataloader.dataset,
                            data_root=COCO, ann_file='test_coco.json'))


def run(cwd, *args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, *args], cwd=str(cwd),
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (proc.stdout[-2000:], proc.stderr[-3000:])
    return proc


@pytest.mark.slow
def test_train_test_demo_and_export_from_another_folder(tmp_path):
    work = tmp_path / 'work_dirs' / 'custom5'
    run(tmp_path, osp.join(REPO, 'tools', 'train.py'), CONFIG, '--work-dir',
        str(work), '--cfg-options', f'train_cfg.max_epochs={EPOCHS}',
        f'train_cfg.val_interval={EPOCHS}',
        f'default_hooks.checkpoint.interval={EPOCHS}')
    ckpt = work / f'epoch_{EPOCHS}.pth'
    assert ckpt.is_file()

    metrics = tmp_path / 'metrics.json'
    run(tmp_path, osp.join(REPO, 'tools', 'test.py'), CONFIG, str(ckpt),
        '--out', str(metrics), '--work-dir', str(tmp_path / 'test'),
        '--cfg-options', 'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False')
    with open(metrics) as f:
        result = json.load(f)
    assert 0.0 <= result['coco/AP'] <= 1.0, result

    vis = tmp_path / 'vis_custom5'
    run(tmp_path, osp.join(REPO, 'demo', 'topdown_demo.py'), CONFIG,
        str(ckpt), '--input', IMAGE, '--bbox-file', DETECTIONS, '--out-dir',
        str(vis), '--simdr-keypoints', '0', '3')
    pictures = sorted(p.name for p in vis.glob('*.png'))
    assert '000000000785.png' in pictures, pictures
    assert any('simdr' in name for name in pictures), pictures

    onnx_file = tmp_path / 'custom5.onnx'
    proc = run(tmp_path, osp.join(REPO, 'tools', 'deploy', 'export_onnx.py'),
               CONFIG, str(ckpt), '--out', str(onnx_file), '--max-crops',
               '3')
    # the config's own 5-keypoint people, not the bundled COCO file
    assert 'custom5' in proc.stdout and 'annotations.json' in proc.stdout
    assert re.search(r'on 3 real crops: max \|keypoints\| difference',
                     proc.stdout), proc.stdout[-2000:]
    import onnxruntime as ort
    session = ort.InferenceSession(str(onnx_file),
                                   providers=['CPUExecutionProvider'])
    keypoints, scores = session.run(
        ['keypoints', 'scores'],
        {'crops': np.zeros((2, 3, 128, 96), np.float32)})
    assert keypoints.shape == (2, 5, 2) and scores.shape == (2, 5)

    # mmpose's own inference API with the config as written
    from mmpose.apis import inference_topdown, init_model
    model = init_model(CONFIG, str(ckpt), device='cpu')
    boxes = np.array([[280.8, 44.7, 499.5, 391.4], [0, 0, 100, 100]])
    poses = inference_topdown(model, IMAGE, boxes)
    assert len(poses) == 2
    assert poses[0].pred_instances.keypoints.shape == (1, 5, 2)
    assert np.isfinite(poses[0].pred_instances.keypoint_scores).all()
