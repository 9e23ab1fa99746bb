# Copyright (c) simdr_ext contributors. All rights reserved.
"""tools/test.py with person detections (bbox_file), end to end."""
import json
import os.path as osp
import subprocess

import pytest
from mmengine.registry import init_default_scope

from mmpose.registry import DATASETS

BUNDLED_DETS = osp.join('tests', 'data', 'coco', 'test_coco_det_AP_H_56.json')


def run_test(python, repo_root, config, checkpoint, work_dir, bbox_file,
             *options):
    """tools/test.py with a bbox_file; (process, metrics or None)."""
    out = work_dir / 'metrics.json'
    proc = subprocess.run([
        python, 'tools/test.py', config, checkpoint, '--work-dir',
        str(work_dir), '--out',
        str(out), '--cfg-options',
        f'test_dataloader.dataset.bbox_file={bbox_file}',
        'test_dataloader.dataset.type=CheckedCocoDataset',
        'test_evaluator.type=CheckedCocoMetric',
        'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False', *options
    ],
                          cwd=repo_root,
                          capture_output=True,
                          text=True,
                          timeout=600)
    metrics = json.loads(out.read_text()) if out.is_file() else None
    return proc, metrics


def test_coco_ap_with_detected_boxes(trained_quickstart, tmp_path, python,
                                     repo_root, quickstart_config):
    """The bundled detections, then the same file with a negative-score
    copy of every detection: the copies are skipped with a warning (the
    rule of the README) and the AP is the same. (Kept, the copies would
    not change the AP either: they predict the same keypoints at a lower
    score and mmpose's OKS NMS drops them; the warning is what tells.)"""
    proc, metrics = run_test(python, repo_root, quickstart_config,
                             trained_quickstart, tmp_path / 'plain',
                             osp.join(repo_root, BUNDLED_DETS))
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout + proc.stderr
    assert 'Epoch(test) [10/10]' in out  # 118 detections at batch 12
    ap = metrics['coco/AP']
    print(f'quickstart (80 epochs) COCO AP with detected boxes: {ap:.3f}')
    assert ap > 0.1

    dets = json.loads(open(osp.join(repo_root, BUNDLED_DETS)).read())
    negative = tmp_path / 'negative.json'
    negative.write_text(
        json.dumps(dets + [dict(d, score=-d['score']) for d in dets]))
    proc, metrics = run_test(python, repo_root, quickstart_config,
                             trained_quickstart, tmp_path / 'negative',
                             str(negative))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'skipped detections: 118 with bad score' in proc.stderr
    assert metrics['coco/AP'] == ap


def test_no_usable_detection_evaluates_everyone_as_a_miss(
        trained_quickstart, tmp_path, python, repo_root, quickstart_config):
    """An empty detection file, and one with only another category: AP 0
    with a warning, exit 0."""
    for name, dets in [('empty', []),
                       ('cats', [
                           dict(
                               image_id=785,
                               category_id=17,
                               bbox=[280, 44, 218, 346],
                               score=0.9)
                       ])]:
        path = tmp_path / f'{name}.json'
        path.write_text(json.dumps(dets))
        proc, metrics = run_test(python, repo_root, quickstart_config,
                                 trained_quickstart, tmp_path / name,
                                 str(path))
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert 'every person counts as a miss' in proc.stderr
        assert metrics['coco/AP'] == 0.0 and metrics['coco/AR'] == 0.0


def test_a_pickled_bbox_file_is_refused_and_does_not_run(
        trained_quickstart, tmp_path, python, repo_root, quickstart_config,
        pickle_payload):
    path = tmp_path / 'dets.pkl'
    marker = pickle_payload(path)
    proc, _ = run_test(python, repo_root, quickstart_config,
                       trained_quickstart, tmp_path / 'work', str(path))
    assert proc.returncode != 0
    assert f'bbox file {path}: only JSON files' in proc.stderr
    assert not marker.exists()


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
    dets = json.loads(
        open(osp.join(repo_root, 'tests', 'data', 'coco', name)).read())
    assert len(dets) == 118
    assert all(d['bbox'][2] > 0 and d['bbox'][3] > 0 for d in dets)
