# Copyright (c) simdr_ext contributors. All rights reserved.
import json
import os.path as osp
import shutil

import pytest
from mmengine.registry import init_default_scope

from mmpose.registry import DATASETS

PIPELINE = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='TopdownAffine', input_size=(48, 64)),
    dict(type='PackPoseInputs'),
]


@pytest.fixture(autouse=True)
def mmpose_scope():
    init_default_scope('mmpose')


@pytest.fixture
def coco_copy(tmp_path, repo_root):
    """The bundled COCO files in a folder the test may damage."""
    src = osp.join(repo_root, 'tests', 'data', 'coco')
    dst = tmp_path / 'coco'
    shutil.copytree(src, dst)
    return dst


def build(root, **kwargs):
    cfg = dict(
        type='CheckedCocoDataset',
        data_root=str(root),
        data_mode='topdown',
        ann_file='test_coco.json',
        data_prefix=dict(img=''),
        pipeline=PIPELINE)
    cfg.update(kwargs)
    return DATASETS.build(cfg)


def write_dets(root, dets):
    path = root / 'dets.json'
    path.write_text(json.dumps(dets))
    return str(path)


def test_bad_detections_are_skipped_with_one_warning(coco_copy):
    good = dict(image_id=785, category_id=1, bbox=[280, 44, 218, 346],
                score=0.9)
    dets = [
        good,
        dict(good, image_id=123456),  # unknown image
        dict(good, bbox=[10, 10, 0, 50]),  # zero area
        dict(good, bbox=[10, 10, -5, 50]),  # negative width
        dict(good, bbox=[10, float('nan'), 5, 50]),  # NaN (json: NaN)
        dict(good, score=float('inf')),
        dict(good, category_id=2),  # not a person: silently skipped
    ]
    with pytest.warns(UserWarning) as record:
        ds = build(
            coco_copy, test_mode=True, bbox_file=write_dets(coco_copy, dets))
    text = ' '.join(str(w.message) for w in record)
    assert '1 with unknown image' in text
    assert '3 with bad box' in text and '1 with bad score' in text
    assert len(ds) == 1
    assert ds[0]['inputs'].shape[-2:] == (64, 48)


def test_image_without_detections_is_fine(coco_copy):
    dets = [dict(image_id=785, category_id=1, bbox=[280, 44, 218, 346],
                 score=0.9)]
    ds = build(coco_copy, test_mode=True, bbox_file=write_dets(coco_copy,
                                                               dets))
    assert len(ds) == 1 and ds[0]['data_samples'].img_id == 785


def test_missing_image_files_are_reported_and_skipped(coco_copy):
    (coco_copy / '000000000785.jpg').unlink()
    with pytest.warns(UserWarning, match='000000000785.jpg'):
        ds = build(coco_copy)
    assert len(ds) == 11  # 12 people with keypoints, one on that image
    assert all('785' not in ds.get_data_info(i)['img_path']
               for i in range(len(ds)))


def test_corrupt_image_stops_a_test_run_naming_the_file(coco_copy):
    (coco_copy / '000000000785.jpg').write_bytes(b'not a jpeg')
    ds = build(coco_copy, test_mode=True)
    idx = next(i for i in range(len(ds))
               if '785' in ds.get_data_info(i)['img_path'])
    with pytest.raises(RuntimeError, match='cannot read image .*785.jpg'):
        ds[idx]


def test_corrupt_image_is_skipped_in_training(coco_copy):
    (coco_copy / '000000000785.jpg').write_bytes(b'not a jpeg')
    ds = build(coco_copy)
    idx = next(i for i in range(len(ds))
               if '785' in ds.get_data_info(i)['img_path'])
    with pytest.warns(UserWarning, match='skipping unreadable image'):
        sample = ds[idx]  # mmengine draws another sample instead
    assert '785' not in sample['data_samples'].img_path
