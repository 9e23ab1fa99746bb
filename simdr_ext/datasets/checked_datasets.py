# Copyright (c) simdr_ext contributors. All rights reserved.
"""mmpose's top-down data sets with their input checked.

The classes here are :class:`InputCheckMixin` applied to mmpose's
``CocoDataset``, ``CrowdPoseDataset`` and ``MpiiDataset`` and nothing else,
so they share one file. The rules, each with a warning or error that names
what it dropped:

- detections (``bbox_file``) for an image id the annotation file does not
  list, or with a non-finite, zero-area or negative box or score, are
  skipped with one warning that counts them; non-person detections are
  skipped silently, as in mmpose;
- an instance whose image file does not exist is skipped with a warning
  listing the files (training and testing: at test time its ground truth
  still counts, as a miss);
- an image that exists but cannot be decoded: in training the sample is
  skipped with a warning and another one is drawn (mmengine's refetch); in
  testing the run stops with an error naming the file and the instance,
  because silently dropping it would change the metric.
"""
import os.path as osp
import warnings
from typing import List

import numpy as np
from mmengine.fileio import exists, get_local_path, load
from xtcocotools.coco import COCO

from mmpose.datasets.datasets.body import (CocoDataset, CrowdPoseDataset,
                                           MpiiDataset)
from mmpose.registry import DATASETS
from mmpose.structures.bbox import bbox_xywh2xyxy


def valid_detection(det: dict, image_ids: set) -> str:
    """Why a detection-result entry is unusable, or ``''`` if it is fine.

    Args:
        det (dict): An entry with ``image_id``, ``bbox`` (xywh), ``score``.
        image_ids (set): Image ids of the annotation file.

    Returns:
        str: ``'unknown image'``, ``'bad box'``, ``'bad score'`` or ``''``.
    """
    if det.get('image_id') not in image_ids:
        return 'unknown image'
    box = np.asarray(det.get('bbox', ()), dtype=np.float64).ravel()
    if box.size < 4 or not np.isfinite(box[:4]).all() or \
            box[2] <= 0 or box[3] <= 0:
        return 'bad box'
    score = np.asarray(det.get('score', np.nan), dtype=np.float64)
    if score.size != 1 or not np.isfinite(score).all():
        return 'bad score'
    return ''


class InputCheckMixin:
    """Input checks for mmpose's top-down data sets (see the module)."""

    def _load_detection_results(self) -> List[dict]:
        """Person detections as dummy instances, bad entries skipped."""
        if not exists(self.ann_file):
            raise FileNotFoundError(f'annotation file {self.ann_file} '
                                    'does not exist')
        if not exists(self.bbox_file):
            raise FileNotFoundError(f'bbox file {self.bbox_file} does not '
                                    'exist')
        dets = load(self.bbox_file)
        if not isinstance(dets, list) or not all(
                isinstance(d, dict) for d in dets):
            raise ValueError(f'bbox file {self.bbox_file} must hold a list '
                             'of dicts (COCO results layout)')
        with get_local_path(self.ann_file) as local_path:
            self.coco = COCO(local_path)
        self._metainfo['CLASSES'] = self.coco.loadCats(self.coco.getCatIds())
        image_ids = set(self.coco.getImgIds())
        num_keypoints = self.metainfo['num_keypoints']
        skipped: dict = {}
        data_list = []
        for det in dets:
            if det.get('category_id', 1) != 1:
                continue
            reason = valid_detection(det, image_ids)
            if reason:
                skipped[reason] = skipped.get(reason, 0) + 1
                continue
            img = self.coco.loadImgs(det['image_id'])[0]
            data_list.append({
                'img_id': det['image_id'],
                'img_path': osp.join(self.data_prefix['img'],
                                     img['file_name']),
                'img_shape': (img['height'], img['width']),
                'bbox': bbox_xywh2xyxy(
                    np.array(det['bbox'][:4], np.float32).reshape(1, 4)),
                'bbox_score': np.array(det['score'], np.float32).reshape(1),
                'keypoints': np.zeros((1, num_keypoints, 2), np.float32),
                'keypoints_visible': np.ones((1, num_keypoints), np.float32),
                'id': len(data_list),
            })
        if skipped:
            warnings.warn(f'{self.bbox_file}: skipped detections: ' +
                          ', '.join(f'{n} with {r}'
                                    for r, n in sorted(skipped.items())))
        return data_list

    def load_data_list(self) -> List[dict]:
        """mmpose's data list without instances whose image is missing."""
        data_list = super().load_data_list()
        paths = {d['img_path'] for d in data_list if d.get('img_path')}
        missing = sorted(p for p in paths if not osp.isfile(p))
        if missing:
            shown = ', '.join(missing[:5]) + (
                f' and {len(missing) - 5} more' if len(missing) > 5 else '')
            warnings.warn(f'{type(self).__name__}: {len(missing)} image '
                          f'file(s) missing, their instances are skipped: '
                          f'{shown}')
            gone = set(missing)
            data_list = [d for d in data_list if d.get('img_path') not in gone]
        return data_list

    def prepare_data(self, idx: int):
        """Run the pipeline; an unreadable image is skipped (training) or
        reported with its file and instance (testing)."""
        try:
            return super().prepare_data(idx)
        except Exception as err:
            info = self.get_data_info(idx)
            path = info.get('img_path')
            if not path or path not in str(err):
                raise
            where = f'image {path} (instance id {info.get("id")})'
            if self.test_mode:
                raise RuntimeError(f'cannot read {where}: {err}') from err
            warnings.warn(f'skipping unreadable {where}: {err}')
            return None


@DATASETS.register_module()
class CheckedCocoDataset(InputCheckMixin, CocoDataset):
    """mmpose's ``CocoDataset`` with :class:`InputCheckMixin`."""


@DATASETS.register_module()
class CheckedCrowdPoseDataset(InputCheckMixin, CrowdPoseDataset):
    """mmpose's ``CrowdPoseDataset`` with :class:`InputCheckMixin`."""


@DATASETS.register_module()
class CheckedMpiiDataset(InputCheckMixin, MpiiDataset):
    """mmpose's ``MpiiDataset`` with :class:`InputCheckMixin`."""
