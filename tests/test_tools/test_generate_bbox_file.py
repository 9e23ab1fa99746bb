# Copyright (c) simdr_ext contributors. All rights reserved.
"""tools/misc/generate_bbox_file.py: writes only what the one detection
reader reads."""
import json
import os.path as osp
import subprocess

import numpy as np
import pytest

from tools.misc.generate_bbox_file import (detections_to_results,
                                           generate_bbox_file, list_images,
                                           person_label)


def mmpose_demo_detector(name='rtmdet_nano_320-8xb32_coco-person.py'):
    import mmpose
    return osp.join(
        osp.dirname(mmpose.__file__), '.mim', 'demo', 'mmdetection_cfg', name)


def test_list_images_of_folder_and_coco_file(repo_root):
    coco = osp.join(repo_root, 'tests', 'data', 'coco')
    from_folder = list_images(coco)
    from_file = list_images(osp.join(coco, 'test_coco.json'))
    assert sorted(from_folder) == sorted(from_file)
    assert (785, osp.join(coco, '000000000785.jpg')) in from_folder
    with pytest.raises(ValueError, match='neither an image folder'):
        list_images(osp.join(coco, '000000000785.jpg'))


def test_detections_to_results_keeps_people_above_threshold():
    boxes = np.array([[10, 20, 40, 80], [0, 0, 5, 5], [1, 1, 1, 9]], float)
    out = detections_to_results(7, boxes, np.array([0.9, 0.2, 0.8]),
                                np.array([0, 0, 0]), 0, 0.5)
    # the third box has zero width: dropped
    assert out == [
        dict(image_id=7, category_id=1, bbox=[10, 20, 30, 60], score=0.9)
    ]
    assert person_label(['person']) == 0
    assert person_label(['bicycle', 'person']) == 1
    with pytest.raises(ValueError, match='no "person" class'):
        person_label(['cat', 'dog'])


def test_generate_bbox_file_with_a_random_weight_detector(
        tmp_path, python, repo_root):
    """An mmdet config with random weights (nothing downloaded): the file is
    written in the COCO results layout and mmpose's loader reads it."""
    out = tmp_path / 'dets.json'
    proc = subprocess.run([
        python, 'tools/misc/generate_bbox_file.py',
        mmpose_demo_detector(), 'none', 'tests/data/coco/test_coco.json',
        '--out',
        str(out), '--seed', '0', '--cfg-options',
        'model.test_cfg.score_thr=0.0', 'model.test_cfg.max_per_img=5'
    ],
                          cwd=repo_root,
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    dets = json.loads(out.read_text())
    # seeded random weights and score_thr 0: boxes, some of them degenerate
    # (dropped); the seed makes the count reproducible
    assert dets, 'seeded random detector gave no valid person box'
    assert {d['image_id'] for d in dets} <= {785, 40083, 196141, 197388}
    for d in dets:
        assert d['category_id'] == 1 and len(d['bbox']) == 4
        assert d['bbox'][2] > 0 and d['bbox'][3] > 0


def test_detections_to_results_writes_only_readable_entries():
    """The bbox tool drops what the reader would skip: NaN and negative
    scores, non-finite boxes."""
    boxes = np.array([[10, 20, 40, 80], [10, 20, 40, 80], [10, np.nan, 40, 80],
                      [10, 20, 40, 80]], float)
    scores = np.array([0.9, np.nan, 0.8, -0.1])
    out = detections_to_results(7, boxes, scores, np.zeros(4, int), 0, -np.inf)
    assert out == [
        dict(image_id=7, category_id=1, bbox=[10, 20, 30, 60], score=0.9)
    ]


def test_generate_bbox_file_writes_json_only(tmp_path):
    with pytest.raises(ValueError, match='must be named .json'):
        generate_bbox_file('unused.py', None, 'unused',
                           str(tmp_path / 'dets.pkl'))
    assert not (tmp_path / 'dets.pkl').exists()


def test_bbox_tool_refuses_a_non_json_output_name(tmp_path, python, repo_root):
    proc = subprocess.run([
        python, 'tools/misc/generate_bbox_file.py',
        mmpose_demo_detector(), 'none', 'tests/data/coco/test_coco.json',
        '--out',
        str(tmp_path / 'dets.pkl')
    ],
                          cwd=repo_root,
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 2
    assert 'the name must end with .json' in proc.stderr
    assert not (tmp_path / 'dets.pkl').exists()
