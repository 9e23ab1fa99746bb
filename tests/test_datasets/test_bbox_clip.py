# Copyright (c) simdr_ext contributors. All rights reserved.
"""``bbox_clip``: mmpose's box clipping or the authors' training box
cleaning (SimCC lib/dataset/coco.py _load_coco_keypoint_annotation_kernal
l.164-175)."""
import json
import os.path as osp
import shutil
import warnings

import numpy as np
import pytest
from mmengine.registry import init_default_scope

from mmpose.registry import DATASETS

PIPELINE = [dict(type='LoadImage'), dict(type='GetBBoxCenterScale')]


@pytest.fixture(autouse=True)
def mmpose_scope():
    init_default_scope('mmpose')


@pytest.fixture
def coco_copy(tmp_path, repo_root):
    dst = tmp_path / 'coco'
    shutil.copytree(osp.join(repo_root, 'tests', 'data', 'coco'), dst)
    return dst


def build(root, type='CheckedCocoDataset', ann_file='test_coco.json',
          **kwargs):
    return DATASETS.build(
        dict(type=type, data_root=str(root), data_mode='topdown',
             ann_file=ann_file, data_prefix=dict(img=''), pipeline=PIPELINE,
             serialize_data=False, **kwargs))


def authors_box(bbox, width, height):
    """coco.py l.167-171, transcribed: [x1, y1, x2, y2]."""
    x, y, w, h = bbox
    x1 = np.max((0, x))
    y1 = np.max((0, y))
    x2 = np.min((width - 1, x1 + np.max((0, w - 1))))
    y2 = np.min((height - 1, y1 + np.max((0, h - 1))))
    return [x1, y1, x2, y2]


def authors_center_scale(box, aspect_ratio):
    """coco.py _xywh2cs l.217-232 on the clean box [x1, y1, x2 - x1,
    y2 - y1]: centre and scale in pixel_std (200) units."""
    x, y, w, h = box[0], box[1], box[2] - box[0], box[3] - box[1]
    center = np.array([x + w * 0.5, y + h * 0.5], np.float32)
    if w > aspect_ratio * h:
        h = w * 1.0 / aspect_ratio
    elif w < aspect_ratio * h:
        w = h * aspect_ratio
    return center, np.array([w / 200, h / 200], np.float32) * 1.25


def ids(ds):
    return [ds.get_data_info(i)['id'] for i in range(len(ds))]


def image_sizes(data):
    return {im['id']: (im['width'], im['height']) for im in data['images']}


def test_authors_boxes_of_the_bundled_file(coco_copy):
    data = json.loads((coco_copy / 'test_coco.json').read_text())
    sizes = image_sizes(data)
    anns = {a['id']: a for a in data['annotations']}
    ours = build(coco_copy, bbox_clip='authors')
    theirs = DATASETS.build(
        dict(type='CocoDataset', data_root=str(coco_copy),
             ann_file='test_coco.json', data_prefix=dict(img=''),
             pipeline=PIPELINE, serialize_data=False))
    default = build(coco_copy)
    assert len(ours) == len(theirs) == len(default) > 0
    moved = 0
    for i in range(len(ours)):
        info = ours.get_data_info(i)
        ann = anns[info['id']]
        expected = authors_box(ann['bbox'], *sizes[ann['image_id']])
        np.testing.assert_allclose(info['bbox'][0], expected, rtol=1e-6)
        mmpose_box = theirs.get_data_info(i)['bbox']
        np.testing.assert_array_equal(default.get_data_info(i)['bbox'],
                                      mmpose_box)
        moved += not np.allclose(info['bbox'], mmpose_box)
        # the pipeline's centre and scale are the authors' _xywh2cs (x 200,
        # the aspect ratio as TopdownAffine fixes it)
        from mmpose.datasets.transforms import TopdownAffine
        out = ours.prepare_data(i)
        center, scale = authors_center_scale(expected, 192 / 256)
        np.testing.assert_allclose(out['bbox_center'][0], center, rtol=1e-5)
        np.testing.assert_allclose(
            TopdownAffine._fix_aspect_ratio(out['bbox_scale'], 192 / 256)[0],
            scale * 200, rtol=1e-5)
    assert moved == len(ours)  # every box is one pixel narrower


@pytest.mark.parametrize('bbox,kept_authors,kept_mmpose', [
    ([600.0, 100.0, 80.0, 50.0], True, True),  # past the right border
    ([-20.5, -10.0, 80.0, 500.0], True, True),  # past left, top, bottom
    ([100.0, 100.0, 1.0, 50.0], True, True),  # 1 px wide: x2 == x1
    ([639.0, 100.0, 10.0, 50.0], True, False),  # at the last column
    ([100.0, 100.0, 0.5, 0.8], False, True),  # both sides 0
    ([700.0, 100.0, 30.0, 30.0], False, False),  # right of the image
    ([100.0, 450.0, 30.0, 30.0], False, False),  # below the image
])
def test_edge_cases_against_the_transcribed_formula(coco_copy, bbox,
                                                    kept_authors,
                                                    kept_mmpose):
    path = coco_copy / 'test_coco.json'
    data = json.loads(path.read_text())
    ann = next(a for a in data['annotations'] if a['image_id'] == 785)
    width, height = image_sizes(data)[785]  # 640 x 425
    ann['bbox'] = bbox
    path.write_text(json.dumps(data))
    for clip, kept in (('authors', kept_authors), ('mmpose', kept_mmpose)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            ds = build(coco_copy, bbox_clip=clip)
        ids = [ds.get_data_info(i)['id'] for i in range(len(ds))]
        assert (ann['id'] in ids) == kept, clip
        if not kept:
            reason = ('box empty or of zero area after the authors\' '
                      'clipping' if clip == 'authors' else 'zero-area box')
            assert any(f'1 {reason}' in str(w.message) for w in caught)
    if kept_authors:
        ds = build(coco_copy, bbox_clip='authors')
        info = next(ds.get_data_info(i) for i in range(len(ds))
                    if ds.get_data_info(i)['id'] == ann['id'])
        np.testing.assert_allclose(info['bbox'][0],
                                   authors_box(bbox, width, height),
                                   rtol=1e-6)


def test_zero_area_annotation_is_refused_by_the_authors_rule(coco_copy):
    path = coco_copy / 'test_coco.json'
    data = json.loads(path.read_text())
    ann = data['annotations'][0]
    ann['area'] = 0
    path.write_text(json.dumps(data))
    with pytest.warns(UserWarning, match='1 box empty or of zero area'):
        ds = build(coco_copy, bbox_clip='authors')
    assert ann['id'] not in ids(ds)
    assert ann['id'] in ids(build(coco_copy))  # mmpose ignores the area


def test_crowdpose_takes_the_option_and_mpii_refuses_it(tmp_path,
                                                        repo_root):
    root = tmp_path / 'crowdpose'
    shutil.copytree(osp.join(repo_root, 'tests', 'data', 'crowdpose'), root)
    data = json.loads((root / 'test_crowdpose.json').read_text())
    sizes, anns = image_sizes(data), {a['id']: a for a in data['annotations']}
    ds = build(root, type='CheckedCrowdPoseDataset',
               ann_file='test_crowdpose.json', bbox_clip='authors')
    assert len(ds) > 0
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        ann = anns[info['id']]
        np.testing.assert_allclose(
            info['bbox'][0], authors_box(ann['bbox'],
                                         *sizes[ann['image_id']]), rtol=1e-6)
    mpii = tmp_path / 'mpii'
    shutil.copytree(osp.join(repo_root, 'tests', 'data', 'mpii'), mpii)
    with pytest.raises(ValueError, match='CheckedMpiiDataset got bbox_clip'):
        build(mpii, type='CheckedMpiiDataset', ann_file='test_mpii.json',
              bbox_clip='authors')


def test_unknown_value_is_refused(coco_copy):
    with pytest.raises(ValueError, match="bbox_clip='author'"):
        build(coco_copy, bbox_clip='author')


def darkpose_clean_box(bbox, width, height):
    """ilovepose/DarkPose (and leeyegy/TokenPose) lib/dataset/coco.py
    l.165-170, transcribed: the clipped corners as SimCC's, the box stored
    as [x1, y1, x2 - x1 + 1, y2 - y1 + 1] (x, y, w, h)."""
    x, y, w, h = bbox
    x1 = np.max((0, x))
    y1 = np.max((0, y))
    x2 = np.min((width - 1, x1 + np.max((0, w - 1))))
    y2 = np.min((height - 1, y1 + np.max((0, h - 1))))
    return [x1, y1, x2 - x1 + 1, y2 - y1 + 1]


def test_inclusive_boxes_are_darkposes(coco_copy):
    """``'authors_inclusive'``: the box of DarkPose and TokenPose, one
    pixel wider and higher than SimCC's, centre x + w / 2 of it."""
    data = json.loads((coco_copy / 'test_coco.json').read_text())
    sizes = image_sizes(data)
    anns = {a['id']: a for a in data['annotations']}
    ours = build(coco_copy, bbox_clip='authors_inclusive')
    simcc = build(coco_copy, bbox_clip='authors')
    assert len(ours) == len(simcc) > 0
    for i in range(len(ours)):
        info = ours.get_data_info(i)
        ann = anns[info['id']]
        x, y, w, h = darkpose_clean_box(ann['bbox'], *sizes[ann['image_id']])
        np.testing.assert_allclose(info['bbox'][0], [x, y, x + w, y + h],
                                   rtol=1e-6)
        np.testing.assert_allclose(
            info['bbox'][0] - simcc.get_data_info(i)['bbox'][0],
            [0, 0, 1, 1], atol=1e-4)
        out = ours.prepare_data(i)
        np.testing.assert_allclose(out['bbox_center'][0],
                                   [x + w * 0.5, y + h * 0.5], rtol=1e-5)
