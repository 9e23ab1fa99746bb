# Copyright (c) simdr_ext contributors. All rights reserved.
"""CheckedCocoMetric: an empty result set (no usable detection) is
evaluated, not a crash; the evaluation file is checked; results with NaN
keypoints are left out and counted."""
import json
import os.path as osp

import numpy as np
import pytest
from mmengine.registry import init_default_scope

from mmpose.registry import DATASETS, METRICS
from simdr_ext.datasets import DataFileError


@pytest.fixture(autouse=True)
def mmpose_scope():
    init_default_scope('mmpose')


@pytest.mark.parametrize('name,dataset,iou_type', [
    ('coco', 'CheckedCocoDataset', 'keypoints'),
    ('crowdpose', 'CheckedCrowdPoseDataset', 'keypoints_crowd'),
])
def test_no_result_counts_everyone_as_a_miss(repo_root, tmp_path, name,
                                             dataset, iou_type):
    root = osp.join(repo_root, 'tests', 'data', name)
    ann_file = osp.join(root, f'test_{name}.json')
    meta = DATASETS.build(
        dict(type=dataset, data_root=root, ann_file=ann_file,
             data_prefix=dict(img=''), test_mode=True)).metainfo
    kwargs = dict(ann_file=ann_file, iou_type=iou_type,
                  outfile_prefix=str(tmp_path / 'out'))
    if iou_type == 'keypoints_crowd':
        kwargs['use_area'] = False
    theirs = METRICS.build(dict(type='CocoMetric', **kwargs))
    theirs.dataset_meta = meta
    with pytest.raises(ValueError):  # mmpose: zip(*[]) does not unpack
        theirs.evaluate(0)
    ours = METRICS.build(dict(type='CheckedCocoMetric', **kwargs))
    ours.dataset_meta = meta
    with pytest.warns(UserWarning, match='every person counts as a miss'):
        metrics = ours.evaluate(0)
    # COCOeval over ground truth with people and no detection: precision
    # and recall are 0 at every threshold (-1 would mean no ground truth)
    assert metrics['coco/AP'] == 0.0 and metrics['coco/AR'] == 0.0
    assert all(v in (0.0, -1.0) for v in metrics.values())
    assert (tmp_path / 'out.keypoints.json').read_text().strip() == '[]'


# ------------------------------------------ the evaluation file is checked
def write_coco(tmp_path, repo_root, change, name='coco'):
    src = osp.join(repo_root, 'tests', 'data', name, f'test_{name}.json')
    with open(src) as f:
        data = json.load(f)
    change(data)
    path = tmp_path / f'test_{name}.json'
    path.write_text(json.dumps(data))
    return str(path)


BAD_EVALUATION_FILES = [
    ('category_id "1"', lambda d: d['annotations'][0].update(
        category_id='1'), 'annotation id 442619: "category_id" must be an '
     'integer'),
    ('category id "1"', lambda d: d['categories'][0].update(id='1'),
     'category entry 0: must be an object with an integer "id"'),
    ('no categories', lambda d: d.pop('categories'), 'has no "categories" '
     'list (COCO evaluation runs over the listed categories: without one '
     'every AP is -1)'),
    ('no iscrowd', lambda d: d['annotations'][1].pop('iscrowd'),
     'annotation id 198196: has no "iscrowd" (COCO evaluation reads it)'),
    ('no area', lambda d: d['annotations'][1].pop('area'),
     'annotation id 198196: has no "area"'),
    ('NaN keypoint', lambda d: d['annotations'][0]['keypoints'].__setitem__(
        3, float('nan')), 'annotation id 442619: "keypoints" value 3 is nan'),
    ('400-digit area', lambda d: d['annotations'][0].update(area=10**400),
     'annotation id 442619: "area" must be a finite number'),
]


@pytest.mark.parametrize('case,change,words', BAD_EVALUATION_FILES,
                         ids=[c[0] for c in BAD_EVALUATION_FILES])
def test_a_bad_evaluation_file_is_refused_when_the_metric_is_built(
        tmp_path, repo_root, case, change, words):
    path = write_coco(tmp_path, repo_root, change)
    with pytest.raises(DataFileError) as err:
        METRICS.build(dict(type='CheckedCocoMetric', ann_file=path))
    assert str(err.value).startswith(f'annotation file {path}: ')
    assert words in str(err.value)


def test_crowdpose_evaluation_needs_crowd_index_and_num_keypoints(
        tmp_path, repo_root):
    def change(data):
        data['images'][0].pop('crowdIndex')
        data['annotations'][0].pop('num_keypoints')
    path = write_coco(tmp_path, repo_root, change, 'crowdpose')
    with pytest.raises(DataFileError) as err:
        METRICS.build(dict(type='CheckedCocoMetric', ann_file=path,
                           iou_type='keypoints_crowd', use_area=False))
    assert 'has no "crowdIndex"' in str(err.value)
    assert 'has no "num_keypoints"' in str(err.value)
    # without those keys and without area, COCO evaluation is fine
    path = write_coco(tmp_path, repo_root, lambda d: [
        a.pop('area', None) for a in d['annotations']])
    METRICS.build(dict(type='CheckedCocoMetric', ann_file=path,
                       use_area=False))


# --------------------------------------------- non-finite results left out
def perfect_results(ann_file, nan_ids=()):
    """Data samples predicting each annotated person exactly; those of
    ``nan_ids`` with one NaN keypoint."""
    with open(ann_file) as f:
        anns = json.load(f)['annotations']
    samples = []
    for ann in anns:
        if not ann['num_keypoints']:
            continue
        kpts = np.array(ann['keypoints'], np.float32).reshape(1, 17, 3)
        if ann['id'] in nan_ids:
            kpts[0, 4, 0] = np.nan
        samples.append(dict(
            id=ann['id'], img_id=ann['image_id'], category_id=1,
            pred_instances=dict(keypoints=kpts[..., :2],
                                keypoint_scores=np.ones((1, 17), np.float32)),
            gt_instances=dict(bbox_scores=np.ones(1, np.float32))))
    return samples


def test_results_with_nan_keypoints_are_left_out_and_counted(
        repo_root, tmp_path):
    ann_file = osp.join(repo_root, 'tests', 'data', 'coco', 'test_coco.json')
    meta = DATASETS.build(
        dict(type='CheckedCocoDataset', data_root=osp.dirname(ann_file),
             ann_file=ann_file, data_prefix=dict(img=''),
             test_mode=True)).metainfo

    def evaluate(samples):
        metric = METRICS.build(dict(type='CheckedCocoMetric',
                                    ann_file=ann_file))
        metric.dataset_meta = meta
        metric.process([], samples)
        return metric.evaluate(len(samples))

    assert evaluate(perfect_results(ann_file))['coco/AP'] == 1.0
    with pytest.warns(UserWarning) as record:
        with_nan = evaluate(perfect_results(ann_file, nan_ids={442619}))
    messages = [str(w.message) for w in record]
    assert ('CheckedCocoMetric: left out 1 of 12 keypoint results, each '
            'with a non-finite keypoint or score (NaN or inf), of instance '
            'ids 442619; their people count as misses') in messages
    # the same as leaving the person out
    without = perfect_results(ann_file)
    without = [s for s in without if s['id'] != 442619]
    assert with_nan == evaluate(without)
    assert with_nan['coco/AP'] < 1.0
