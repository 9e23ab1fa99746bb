# Copyright (c) simdr_ext contributors. All rights reserved.
"""An empty result set (no usable detection) is evaluated, not a crash."""
import os.path as osp

import pytest
from mmengine.registry import init_default_scope

from mmpose.registry import DATASETS, METRICS


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
