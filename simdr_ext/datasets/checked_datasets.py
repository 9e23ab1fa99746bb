# Copyright (c) simdr_ext contributors. All rights reserved.
"""mmpose's top-down data sets with :class:`InputCheckMixin`: ``codec``
fills the pipeline (:func:`bind_codec`); bad data files (:mod:`.data_files`)
and empty sets are refused; bad detections and instances without an image
file are skipped with one warning that counts them; an undecodable image is
skipped in training and stops a test run. Messages name the file and entry.
"""
import os.path as osp
import warnings
from typing import List, Optional, Sequence, Tuple

import numpy as np
from mmengine.fileio import get_local_path
from xtcocotools.coco import COCO

import mmpose
from mmpose.datasets.datasets.body import (CocoDataset, CrowdPoseDataset,
                                           MpiiDataset)
from mmpose.registry import DATASETS
from mmpose.structures.bbox import bbox_xywh2xyxy
from .data_files import (DataFileError, check_coco_annotations,
                         check_mpii_annotations, read_detections,
                         read_json_file)

# mmpose's metainfo files by absolute path: mmpose looks for
# configs/_base_/datasets/*.py in the working directory first
METAINFO_DIR = osp.join(
    osp.dirname(mmpose.__file__), '.mim', 'configs', '_base_', 'datasets')


def _plain(value):
    """``value`` with tuples as lists (configs write either)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return [*map(_plain, value)] if isinstance(value, (list, tuple)) else value


def bind_codec(pipeline: Sequence, codec: dict,
               owner: str = 'pipeline') -> list:
    """A copy of ``pipeline``: ``TopdownAffine`` steps get the codec's
    input size and ``GenerateTarget`` steps the codec as encoder where they
    state none; ValueError (naming ``owner``) where one states another."""
    if not isinstance(codec, dict) or 'input_size' not in codec:
        raise ValueError(f'{owner} got codec={codec!r}: expected a codec '
                         'config dict with "type" and "input_size"')
    fills = dict(TopdownAffine=('input_size', tuple(codec['input_size'])),
                 GenerateTarget=('encoder', codec))
    bound = []
    for step in pipeline:
        name = step.get('type') if isinstance(step, dict) else None
        name = str(getattr(name, '__name__', name)).split('.')[-1]
        if name in fills:
            key, value = fills[name]
            if key not in step:
                step = {**step, key: value}
            elif _plain(step[key]) != _plain(value):
                raise ValueError(f'{owner}: {name} states {key}={step[key]!r}'
                                 f' but the codec gives {value!r}')
        bound.append(step)
    return bound


def codec_loader(codec: dict, pipeline: Sequence, **dataset) -> dict:
    """A loader override for configs, ``dict(dataset=dict(**dataset,
    codec=codec, pipeline=bind_codec(pipeline, codec)))``: test loaders
    written with it hold the codec's input size in the pipeline itself, as
    mmpose's ``inference_topdown`` and ``MMPoseInferencer`` read it."""
    return dict(dataset=dict(
        dataset, codec=codec,
        pipeline=bind_codec(pipeline, codec, 'the test pipeline')))

class InputCheckMixin:
    """Input checks for mmpose's top-down data sets (see the module);
    ``codec`` (dict, optional) fills the pipeline (:func:`bind_codec`).
    Defaults to None (the pipeline as given)."""

    def __init__(self, *args, codec: Optional[dict] = None, **kwargs):
        self.codec = codec
        if codec is not None:
            kwargs['pipeline'] = bind_codec(
                kwargs.get('pipeline', ()), codec, type(self).__name__)
        super().__init__(*args, **kwargs)

    def _check_annotation_file(self) -> int:
        """Read and check ``ann_file``; the number of annotations."""
        data = read_json_file(self.ann_file, 'annotation file')
        args = data, self.ann_file, self.metainfo['num_keypoints']
        if isinstance(self, MpiiDataset):
            check_mpii_annotations(*args, need_joints=not self.test_mode)
            return len(data)
        check_coco_annotations(*args, need_annotations=not self.bbox_file)
        return len(data.get('annotations') or ())

    def _load_detection_results(self) -> List[dict]:
        """Person detections as dummy instances, bad entries skipped."""
        with get_local_path(self.ann_file) as local_path:
            self.coco = COCO(local_path)
        self._metainfo['CLASSES'] = self.coco.loadCats(self.coco.getCatIds())
        num_keypoints = self.metainfo['num_keypoints']
        data_list = []
        for det in read_detections(self.bbox_file, self.coco.getImgIds()):
            img = self.coco.loadImgs(det['image_id'])[0]
            box = np.array(det['bbox'], np.float32).reshape(1, 4)
            data_list.append(dict(
                img_id=det['image_id'], id=len(data_list),
                img_path=osp.join(self.data_prefix['img'], img['file_name']),
                img_shape=(img['height'], img['width']),
                bbox=bbox_xywh2xyxy(box),
                bbox_score=np.array(det['score'], np.float32).reshape(1),
                keypoints=np.zeros((1, num_keypoints, 2), np.float32),
                keypoints_visible=np.ones((1, num_keypoints), np.float32)))
        return data_list

    def _serialize_data(self) -> Tuple[np.ndarray, np.ndarray]:
        """mmengine's serialisation, which cannot pack an empty list."""
        if not self.data_list:
            return np.zeros(0, np.uint8), np.zeros(0, np.int64)
        return super()._serialize_data()

    def load_data_list(self) -> List[dict]:
        """mmpose's data list from checked files, without instances whose
        image is missing."""
        num_annotations = self._check_annotation_file()
        data_list = super().load_data_list()
        if not data_list and not self.bbox_file:
            raise DataFileError(
                f'annotation file {self.ann_file}: none of its '
                f'{num_annotations} annotations is a usable instance (each is'
                ' a crowd region, has no visible keypoint or a zero-size box)')
        name = type(self).__name__
        paths = {d.get('img_path') for d in data_list} - {None}
        missing = sorted(p for p in paths if not osp.isfile(p))
        if missing:
            more = f' and {len(missing) - 5} more' if len(missing) > 5 else ''
            warnings.warn(f'{name}: {len(missing)} image file(s) missing, '
                          'their instances are skipped: '
                          f'{", ".join(missing[:5])}{more}')
            gone = set(missing)
            data_list = [d for d in data_list if d.get('img_path') not in gone]
            if not data_list and not self.bbox_file:
                raise FileNotFoundError(
                    f'{name}: none of the {len(missing)} image files of '
                    f'annotation file {self.ann_file} exists (looked in '
                    f'{osp.dirname(missing[0]) or "."})')
        return data_list

    def prepare_data(self, idx: int):
        """Run the pipeline; an unreadable image is skipped (training) or
        reported with its file and instance (testing)."""
        try:
            return super().prepare_data(idx)
        except Exception as err:
            info = self.get_data_info(idx)
            if not info.get('img_path') or info['img_path'] not in str(err):
                raise
            where = f'image {info["img_path"]} (instance id {info.get("id")})'
            if self.test_mode:
                raise RuntimeError(f'cannot read {where}: {err}') from err
            warnings.warn(f'skipping unreadable {where}: {err}')
            return None


@DATASETS.register_module()
class CheckedCocoDataset(InputCheckMixin, CocoDataset):
    """mmpose's ``CocoDataset`` with :class:`InputCheckMixin`."""
    METAINFO: dict = dict(from_file=osp.join(METAINFO_DIR, 'coco.py'))


@DATASETS.register_module()
class CheckedCrowdPoseDataset(InputCheckMixin, CrowdPoseDataset):
    """mmpose's ``CrowdPoseDataset`` with :class:`InputCheckMixin`."""
    METAINFO: dict = dict(from_file=osp.join(METAINFO_DIR, 'crowdpose.py'))


@DATASETS.register_module()
class CheckedMpiiDataset(InputCheckMixin, MpiiDataset):
    """mmpose's ``MpiiDataset`` with :class:`InputCheckMixin`."""
    METAINFO: dict = dict(from_file=osp.join(METAINFO_DIR, 'mpii.py'))
