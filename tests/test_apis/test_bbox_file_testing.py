# Copyright (c) simdr_ext contributors. All rights reserved.
"""Testing with person detections (bbox_file) end to end."""
import os.path as osp
import subprocess

import pytest
from mmengine.registry import init_default_scope

from mmpose.registry import DATASETS


def test_coco_ap_with_detected_boxes(trained_quickstart, tmp_path, python,
                                     repo_root, quickstart_config):
    dets = osp.join(repo_root, 'tests', 'data', 'coco',
                    'test_coco_det_AP_H_56.json')
    proc = subprocess.run([
        python, 'tools/test.py', quickstart_config, trained_quickstart,
        '--work-dir',
        str(tmp_path), '--out',
        str(tmp_path / 'metrics.json'), '--cfg-options',
        f'test_dataloader.dataset.bbox_file={dets}',
        'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False'
    ],
                          cwd=repo_root,
                          capture_output=True,
                          text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout + proc.stderr
    assert 'Epoch(test) [10/10]' in out  # 118 detections at batch 12
    import json
    ap = json.loads((tmp_path / 'metrics.json').read_text())['coco/AP']
    print(f'quickstart (80 epochs) COCO AP with detected boxes: {ap:.3f}')
    assert ap > 0.1


def test_crowdpose_detections_load_through_the_pipeline(repo_root):
    init_default_scope('mmpose')
    root = osp.join(repo_root, 'tests', 'data', 'crowdpose')
    ds = DATASETS.build(
        dict(
            type='CheckedCrowdPoseDataset',
            data_root=root,
            data_mode='topdown',
            ann_file='test_crowdpose.json',
            bbox_file=osp.join(root, 'test_crowdpose_det_AP_40.json'),
            data_prefix=dict(img=''),
            test_mode=True,
            pipeline=[
                dict(type='LoadImage'),
                dict(type='GetBBoxCenterScale'),
                dict(type='TopdownAffine', input_size=(48, 64)),
                dict(type='PackPoseInputs')
            ]))
    assert len(ds) > 0
    sample = ds[0]
    assert tuple(sample['inputs'].shape) == (3, 64, 48)
    assert sample['data_samples'].metainfo['dataset_name'] == 'crowdpose'


@pytest.mark.parametrize('name', ['test_coco_det_AP_H_56.json'])
def test_bundled_detection_file_is_valid(repo_root, name):
    import json
    dets = json.loads(
        open(osp.join(repo_root, 'tests', 'data', 'coco', name)).read())
    assert len(dets) == 118
    assert all(d['bbox'][2] > 0 and d['bbox'][3] > 0 for d in dets)
