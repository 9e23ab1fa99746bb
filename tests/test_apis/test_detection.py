# Copyright (c) simdr_ext contributors. All rights reserved.
import json
import os.path as osp
import pickle
import subprocess

import numpy as np
import pytest

from simdr_ext.apis.detection import (detections_to_results, list_images,
                                      person_label)


def mmpose_demo_detector(name='rtmdet_nano_320-8xb32_coco-person.py'):
    import mmpose
    return osp.join(osp.dirname(mmpose.__file__), '.mim', 'demo',
                    'mmdetection_cfg', name)


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
    assert out == [dict(image_id=7, category_id=1, bbox=[10, 20, 30, 60],
                        score=0.9)]
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
        'model.test_cfg.score_thr=0.0',
        'model.test_cfg.max_per_img=5'
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


class Touch:
    """A pickle whose loading creates ``path`` (a harmless stand-in for
    code that a pickle can run)."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, 'w'))


def test_demo_boxes_refuse_a_pickle(tmp_path):
    from simdr_ext.apis.detection import boxes_by_image
    from simdr_ext.datasets import DataFileError
    marker = tmp_path / 'payload_ran'
    path = tmp_path / 'x.pkl'
    path.write_bytes(pickle.dumps([Touch(marker)]))
    with pytest.raises(DataFileError, match='only JSON files'):
        boxes_by_image(str(path))
    assert not marker.exists()


def test_demo_boxes_follow_the_reader_rules(tmp_path, repo_root):
    """NaN and negative scores never pass the threshold (NaN < thr is
    False, so a plain comparison keeps them); the bundled file is read
    whole."""
    from simdr_ext.apis.detection import boxes_by_image
    src = osp.join(repo_root, 'tests', 'data', 'coco',
                   'test_coco_det_AP_H_56.json')
    dets = json.loads(open(src).read())
    boxes = boxes_by_image(src, 0.3)
    kept = [d for d in dets if d['score'] >= 0.3]
    assert sum(len(v) for v in boxes.values()) == len(kept)
    first = dets[0]
    x, y, w, h = first['bbox']
    np.testing.assert_allclose(boxes[first['image_id']][0],
                               [x, y, x + w, y + h], rtol=1e-6)
    path = tmp_path / 'dets.json'
    path.write_text(json.dumps([
        dict(first, score=float('nan')),
        dict(first, score=-1.0),
        dict(first, image_id=7, score=0.5)
    ]))
    with pytest.warns(UserWarning, match='2 with bad score'):
        boxes = boxes_by_image(str(path), 0.3)
    assert list(boxes) == [7]
    path.write_text(json.dumps([dict(first, bbox={'x': 1})]))
    with pytest.raises(ValueError, match='entry 0: "bbox" must be a list'):
        boxes_by_image(str(path))


def test_detections_to_results_writes_only_readable_entries():
    """The bbox tool drops what the reader would skip: NaN and negative
    scores, non-finite boxes."""
    boxes = np.array([[10, 20, 40, 80], [10, 20, 40, 80],
                      [10, np.nan, 40, 80], [10, 20, 40, 80]], float)
    scores = np.array([0.9, np.nan, 0.8, -0.1])
    out = detections_to_results(7, boxes, scores, np.zeros(4, int), 0,
                                -np.inf)
    assert out == [dict(image_id=7, category_id=1, bbox=[10, 20, 30, 60],
                        score=0.9)]


def test_generate_bbox_file_writes_json_only(tmp_path):
    from simdr_ext.apis.detection import generate_bbox_file
    with pytest.raises(ValueError, match='must be named .json'):
        generate_bbox_file('unused.py', None, 'unused', str(tmp_path /
                                                             'dets.pkl'))
    assert not (tmp_path / 'dets.pkl').exists()


def test_bbox_tool_refuses_a_non_json_output_name(tmp_path, python,
                                                  repo_root):
    proc = subprocess.run([
        python, 'tools/misc/generate_bbox_file.py',
        mmpose_demo_detector(), 'none', 'tests/data/coco/test_coco.json',
        '--out', str(tmp_path / 'dets.pkl')
    ], cwd=repo_root, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert 'the name must end with .json' in proc.stderr
    assert not (tmp_path / 'dets.pkl').exists()
