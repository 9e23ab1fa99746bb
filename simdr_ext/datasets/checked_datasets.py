# Copyright (c) simdr_ext contributors. All rights reserved.
"""mmpose's top-down data sets with their input checked.

The classes here are :class:`InputCheckMixin` applied to mmpose's
``CocoDataset``, ``CrowdPoseDataset`` and ``MpiiDataset`` and nothing else,
so they share one file. They take exactly mmpose's arguments. The rules,
each with a warning or error that names what it dropped or refused:

- annotation and detection files are read as JSON only, and checked before
  mmpose's loader sees them (rules in :mod:`.data_files`): a file that
  breaks its layout stops the run with an error naming the file, the
  annotation id or entry and the rule; a training or test set without a
  single usable instance stops the same way;
- detections (``bbox_file``) that are not people, are for an image id the
  annotation file does not list, or have a non-finite or zero-size box or
  a non-finite or negative score are skipped with one warning that counts
  them; a file with no usable detection warns and gives an empty test set
  (every person a miss);
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
from typing import List, Tuple

import numpy as np
from mmengine.fileio import exists, get_local_path
from xtcocotools.coco import COCO

from mmpose.datasets.datasets.body import (CocoDataset, CrowdPoseDataset,
                                           MpiiDataset)
from mmpose.registry import DATASETS
from mmpose.structures.bbox import bbox_xywh2xyxy
from .data_files import (DataFileError, check_coco_annotations,
                         check_mpii_annotations, read_detections,
                         read_json_file)


class InputCheckMixin:
    """Input checks for mmpose's top-down data sets (see the module)."""

    def _check_annotation_file(self) -> int:
        """Read and check ``ann_file``; the number of annotations."""
        data = read_json_file(self.ann_file, 'annotation file')
        num_keypoints = self.metainfo['num_keypoints']
        if isinstance(self, MpiiDataset):
            check_mpii_annotations(
                data, self.ann_file, num_keypoints,
                need_joints=not self.test_mode)
            return len(data)
        check_coco_annotations(
            data, self.ann_file, num_keypoints,
            need_annotations=not self.bbox_file)
        return len(data.get('annotations') or ())

    def _load_detection_results(self) -> List[dict]:
        """Person detections as dummy instances, bad entries skipped."""
        if not exists(self.bbox_file):
            raise FileNotFoundError(f'bbox file {self.bbox_file} does not '
                                    'exist')
        with get_local_path(self.ann_file) as local_path:
            self.coco = COCO(local_path)
        self._metainfo['CLASSES'] = self.coco.loadCats(self.coco.getCatIds())
        dets = read_detections(self.bbox_file, self.coco.getImgIds())
        num_keypoints = self.metainfo['num_keypoints']
        data_list = []
        for det in dets:
            img = self.coco.loadImgs(det['image_id'])[0]
            data_list.append({
                'img_id': det['image_id'],
                'img_path': osp.join(self.data_prefix['img'],
                                     img['file_name']),
                'img_shape': (img['height'], img['width']),
                'bbox': bbox_xywh2xyxy(
                    np.array(det['bbox'], np.float32).reshape(1, 4)),
                'bbox_score': np.array(det['score'], np.float32).reshape(1),
                'keypoints': np.zeros((1, num_keypoints, 2), np.float32),
                'keypoints_visible': np.ones((1, num_keypoints), np.float32),
                'id': len(data_list),
            })
        return data_list

    def _serialize_data(self) -> Tuple[np.ndarray, np.ndarray]:
        """mmengine's serialisation, which cannot pack an empty list."""
        if not self.data_list:
            return np.zeros(0, np.uint8), np.zeros(0, np.int64)
        return super()._serialize_data()

    def load_data_list(self) -> List[dict]:
        """mmpose's data list from checked files, without instances whose
        image is missing."""
        if not exists(self.ann_file):
            raise FileNotFoundError(f'annotation file {self.ann_file} '
                                    'does not exist')
        num_annotations = self._check_annotation_file()
        data_list = super().load_data_list()
        if not data_list and not self.bbox_file:
            raise DataFileError(
                f'annotation file {self.ann_file}: none of its '
                f'{num_annotations} annotations is a usable instance (each '
                'is a crowd region, has no visible keypoint or has a '
                'zero-size box)')
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
            if not data_list and not self.bbox_file:
                raise FileNotFoundError(
                    f'{type(self).__name__}: none of the {len(missing)} '
                    'image files of annotation file '
                    f'{self.ann_file} exists (looked in '
                    f'{osp.dirname(missing[0]) or "."})')
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


def mmpose_metainfo(dataset: type) -> dict:
    """``dataset.METAINFO`` with its file as an absolute path in mmpose.

    mmpose names the file relative to the working directory
    (``configs/_base_/datasets/coco.py``) and looks in its package only when
    no such file exists there, so a project with its own
    ``configs/_base_/datasets/coco.py`` (a data-set config, not metainfo)
    breaks ``CocoDataset`` when run from its root.
    """
    import mmpose
    name = osp.basename(dataset.METAINFO['from_file'])
    return dict(from_file=osp.join(
        osp.dirname(mmpose.__file__), '.mim', 'configs', '_base_', 'datasets',
        name))


@DATASETS.register_module()
class CheckedCocoDataset(InputCheckMixin, CocoDataset):
    """mmpose's ``CocoDataset`` with :class:`InputCheckMixin`."""
    METAINFO: dict = mmpose_metainfo(CocoDataset)


@DATASETS.register_module()
class CheckedCrowdPoseDataset(InputCheckMixin, CrowdPoseDataset):
    """mmpose's ``CrowdPoseDataset`` with :class:`InputCheckMixin`."""
    METAINFO: dict = mmpose_metainfo(CrowdPoseDataset)


@DATASETS.register_module()
class CheckedMpiiDataset(InputCheckMixin, MpiiDataset):
    """mmpose's ``MpiiDataset`` with :class:`InputCheckMixin`."""
    METAINFO: dict = mmpose_metainfo(MpiiDataset)
