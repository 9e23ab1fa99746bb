# Copyright (c) simdr_ext contributors. All rights reserved.
"""mmpose's top-down data sets with :class:`InputCheckMixin`: ``codec``
fills the pipeline (:func:`bind_codec`); bad data files (:mod:`.data_files`),
image sizes that differ from the image files' (:mod:`.image_files`) and
empty sets are refused; every instance left out (crowd regions, people
without a visible keypoint or box, bad detections, missing image files, ...)
is counted by reason in one summary line; images are checked against a
pixel budget before they are decoded, and an unreadable one is skipped in
training and stops a test run. Messages name the file and entry.
"""
import os.path as osp
import warnings
from collections import Counter
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.fileio import get_local_path
from mmengine.logging import print_log
from xtcocotools.coco import COCO

import mmpose
from mmpose.datasets.datasets.body import (CocoDataset, CrowdPoseDataset,
                                           MpiiDataset)
from mmpose.registry import DATASETS
from mmpose.structures.bbox import bbox_xywh2xyxy
from simdr_runtime.image_size import max_image_pixels as pixel_budget
from .data_files import (DataFileError, check_coco_annotations,
                         check_mpii_annotations, read_json_file, refuse,
                         sort_detections)
from .image_files import image_size_problems
from .transforms import CheckedLoadImage

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
    mmpose's ``inference_topdown`` and ``MMPoseInferencer`` read it, and
    load images with ``CheckedLoadImage`` (pixel budget; a warning when the
    person box is the whole picture), which those paths use too."""
    pipeline = [
        dict(step, type='CheckedLoadImage') if isinstance(step, dict)
        and step.get('type') == 'LoadImage' else step
        for step in bind_codec(pipeline, codec, 'the test pipeline')
    ]
    return dict(dataset=dict(dataset, codec=codec, pipeline=pipeline))


def checked_loading(pipeline: Sequence,
                    max_image_pixels: Optional[int] = None,
                    owner: str = 'pipeline') -> list:
    """A copy of ``pipeline`` whose ``LoadImage`` steps (configs) are
    :class:`~simdr_ext.datasets.transforms.CheckedLoadImage` with the same
    arguments, and ``max_image_pixels`` (unless ``None``) where a loading
    step states none; ValueError (naming ``owner``) where one states
    another."""
    checked = []
    for step in pipeline:
        name = step.get('type') if isinstance(step, dict) else None
        name = str(getattr(name, '__name__', name)).split('.')[-1]
        if name in ('LoadImage', 'CheckedLoadImage'):
            step = {**step, 'type': CheckedLoadImage}
            stated = step.get('max_image_pixels')
            if max_image_pixels is not None and stated is None:
                step['max_image_pixels'] = max_image_pixels
            elif max_image_pixels is not None and stated != max_image_pixels:
                raise ValueError(
                    f'{owner}: {name} states max_image_pixels={stated!r} but '
                    f'the data set gives {max_image_pixels!r}')
        checked.append(step)
    return checked


def count_text(counts: Counter) -> str:
    """``'2 zero-area box, 1 crowd region'``: most frequent first."""
    return ', '.join(f'{n} {reason}' for reason, n in sorted(
        counts.items(), key=lambda item: (-item[1], item[0])))


BBOX_CLIPS = ('mmpose', 'authors', 'authors_inclusive')


def authors_clean_bbox(bbox: Sequence[float],
                       width: int,
                       height: int,
                       inclusive: bool = False) -> np.ndarray:
    """The training box cleaning of SimCC ``lib/dataset/coco.py``
    ``_load_coco_keypoint_annotation_kernal`` l.167-173: a COCO box
    ``(x, y, w, h)`` in an image of ``width`` x ``height`` becomes

    ``x1 = max(0, x)``, ``y1 = max(0, y)``,
    ``x2 = min(width - 1, x1 + max(0, w - 1))``,
    ``y2 = min(height - 1, y1 + max(0, h - 1))``

    (one pixel narrower and lower than mmpose's ``min(x + w, width - 1)``),
    returned as mmpose's ``bbox``, ``[[x1, y1, x2, y2]]`` float32 (1, 4).
    The authors' centre ``x1 + (x2 - x1) / 2`` and size ``x2 - x1``
    (``_xywh2cs`` l.217-232) are what ``GetBBoxCenterScale`` computes from
    it. With ``inclusive`` the box is DarkPose's and TokenPose's
    (``lib/dataset/coco.py`` l.170 of both: ``[x1, y1, x2 - x1 + 1,
    y2 - y1 + 1]``, the pixel count), ``[[x1, y1, x2 + 1, y2 + 1]]``."""
    x, y, w, h = (float(v) for v in bbox[:4])
    x1, y1 = max(0.0, x), max(0.0, y)
    x2 = min(width - 1.0, x1 + max(0.0, w - 1.0))
    y2 = min(height - 1.0, y1 + max(0.0, h - 1.0))
    extra = 1.0 if inclusive else 0.0
    return np.array([[x1, y1, x2 + extra, y2 + extra]], np.float32)


class InputCheckMixin:
    """Input checks for mmpose's top-down data sets (see the module).

    Every instance left out is counted by reason (crowd region, no visible
    keypoint, zero-area box after clipping to the image, ..., missing
    image file, unusable detection) and one summary line is given when the
    data list is built: a warning if anything was left out, else a log
    line. The ``width`` and ``height`` of every annotated image are
    compared with its file's header (:mod:`.image_files`). ``LoadImage``
    steps become :class:`~simdr_ext.datasets.transforms.CheckedLoadImage`
    (:func:`checked_loading`), which checks each image against the pixel
    budget before decoding it.

    Args:
        codec (dict, optional): Fills the pipeline (:func:`bind_codec`).
            Defaults to ``None`` (the pipeline as given).
        max_image_pixels (int, optional): The pixel budget of the loading
            steps; ``None``: :func:`simdr_runtime.image_size.max_image_pixels`
            when an image is read. Defaults to ``None``.
        bbox_clip (str): How annotated boxes are clipped to the image:
            ``'mmpose'`` (``x2 = clip(x + w, 0, width - 1)``, boxes of zero
            width or height refused) or ``'authors'``
            (SimCC's, :func:`authors_clean_bbox`) or
            ``'authors_inclusive'`` (DarkPose's and TokenPose's, one pixel
            wider and higher; kept as the authors' l.172 if the
            annotation's ``area > 0`` and ``x2 >= x1``, ``y2 >= y1``, unless
            both sides are 0, which gives no warp). Person detections are
            not changed. Only ``'mmpose'`` for data sets without boxes
            (MPII). Defaults to ``'mmpose'``.
    """

    def __init__(self,
                 *args,
                 codec: Optional[dict] = None,
                 max_image_pixels: Optional[int] = None,
                 bbox_clip: str = 'mmpose',
                 **kwargs):
        self.codec = codec
        name = type(self).__name__
        if bbox_clip not in BBOX_CLIPS:
            raise ValueError(f'{name} got bbox_clip={bbox_clip!r}: expected '
                             f'one of {BBOX_CLIPS}')
        if bbox_clip != 'mmpose' and isinstance(self, MpiiDataset):
            raise ValueError(f'{name} got bbox_clip={bbox_clip!r}: its '
                             'annotations have no boxes to clip; leave the '
                             "default 'mmpose'")
        self.bbox_clip = bbox_clip
        if max_image_pixels is not None:
            max_image_pixels = pixel_budget(max_image_pixels)
        self.max_image_pixels = max_image_pixels
        pipeline = kwargs.get('pipeline', ())
        if codec is not None:
            pipeline = bind_codec(pipeline, codec, name)
        kwargs['pipeline'] = checked_loading(pipeline, max_image_pixels, name)
        self._skipped: Counter = Counter()
        self._skipped_detections: Counter = Counter()
        self._missing_images: List[str] = []
        super().__init__(*args, **kwargs)

    def _check_annotation_file(self) -> Union[dict, list]:
        """Read and check ``ann_file``; its content."""
        data = read_json_file(self.ann_file, 'annotation file')
        args = data, self.ann_file, self.metainfo['num_keypoints']
        if isinstance(self, MpiiDataset):
            # mmpose reads "joints" and "joints_vis" in test mode too
            check_mpii_annotations(*args, need_joints=True)
        else:
            check_coco_annotations(*args, need_annotations=not self.bbox_file)
        return data

    def parse_data_info(self, raw_data_info: dict) -> Optional[dict]:
        """mmpose's instance, with (top-down) ``ann_img_shape``: the
        image's ``(height, width)`` in the annotation file, which
        ``CheckedLoadImage`` compares with the decoded image."""
        info = super().parse_data_info(raw_data_info)
        if not info:
            self._skipped['without "bbox" or "keypoints"'] += 1
            return info
        if self.bbox_clip != 'mmpose' and 'bbox' in info:
            img = raw_data_info['raw_img_info']
            info['bbox'] = authors_clean_bbox(
                raw_data_info['raw_ann_info']['bbox'], img['width'],
                img['height'], self.bbox_clip == 'authors_inclusive')
        if self.data_mode == 'topdown':
            img = raw_data_info['raw_img_info']
            info['ann_img_shape'] = (img['height'], img['width'])
        return info

    def authors_box_ok(self, info: dict) -> bool:
        """The authors' box test (SimCC ``lib/dataset/coco.py`` l.172):
        ``area > 0``, ``x2 >= x1`` and ``y2 >= y1``; and not both sides 0
        (a box of no size gives a singular warp)."""
        x1, y1, x2, y2 = np.asarray(info['bbox'])[0]
        return bool(
            np.all(np.asarray(info.get('area', 1.0)) > 0) and x2 >= x1
            and y2 >= y1 and (x2 > x1 or y2 > y1))

    def _is_valid_instance(self, data_info: dict) -> bool:
        """mmpose's test, its box test the authors' with
        ``bbox_clip='authors'``."""
        if self.bbox_clip == 'mmpose' or 'bbox' not in data_info:
            return super()._is_valid_instance(data_info)
        without_box = {k: v for k, v in data_info.items() if k != 'bbox'}
        return (super()._is_valid_instance(without_box)
                and self.authors_box_ok(data_info))

    def skip_reason(self, info: dict) -> str:
        """Why ``_is_valid_instance`` refuses an instance, in mmpose's
        order of tests."""
        if info.get('iscrowd'):
            return 'crowd region'
        if 'num_keypoints' in info and info['num_keypoints'] == 0:
            return 'no visible keypoint'
        if 'bbox' in info:
            if self.bbox_clip != 'mmpose':
                if not self.authors_box_ok(info):
                    return ('box empty or of zero area after the authors\' '
                            'clipping')
            else:
                box = np.asarray(info['bbox'])[0]
                if np.any(box[2:4] - box[:2] <= 0):
                    return 'zero-area box'
        if 'keypoints' in info and np.max(info['keypoints']) <= 0:
            return 'no keypoint coordinate > 0'
        return 'refused by mmpose'

    def _get_topdown_data_infos(self, instance_list: List[dict]) -> list:
        """mmpose's filter, each instance it refuses counted by reason."""
        kept = super()._get_topdown_data_infos(instance_list)
        if len(kept) < len(instance_list):
            kept_ids = {id(info) for info in kept}
            self._skipped.update(
                self.skip_reason(info) for info in instance_list
                if id(info) not in kept_ids)
        return kept

    def _load_detection_results(self) -> List[dict]:
        """Person detections as dummy instances, bad entries counted."""
        with get_local_path(self.ann_file) as local_path:
            self.coco = COCO(local_path)
        if 'categories' in self.coco.dataset:
            self._metainfo['CLASSES'] = self.coco.loadCats(
                self.coco.getCatIds())
        num_keypoints = self.metainfo['num_keypoints']
        dets, skipped, _ = sort_detections(self.bbox_file,
                                           self.coco.getImgIds())
        self._skipped_detections = skipped
        data_list = []
        for det in dets:
            img = self.coco.loadImgs(det['image_id'])[0]
            box = np.array(det['bbox'], np.float32).reshape(1, 4)
            data_list.append(dict(
                img_id=det['image_id'], id=len(data_list),
                img_path=osp.join(self.data_prefix['img'], img['file_name']),
                img_shape=(img['height'], img['width']),
                ann_img_shape=(img['height'], img['width']),
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

    def _check_image_sizes(self, data: Union[dict, list],
                           data_list: List[dict]) -> None:
        """Compare the annotation file's image sizes with the headers of
        the image files that instances use (or that annotations use, so
        that an image whose people were all clipped away is checked too);
        MPII files give no size."""
        if not isinstance(data, dict):
            return
        if self.bbox_file:
            used = {info['img_id'] for info in data_list}
        else:
            interval = getattr(self, 'sample_interval', 1)
            used = {ann['image_id'] for ann in data['annotations']
                    if ann['image_id'] % interval == 0}
        images = []
        for img in data['images']:
            path = osp.join(self.data_prefix['img'], img['file_name'])
            if img['id'] in used and osp.isfile(path):
                images.append((path, img['id'], img['width'], img['height']))
        refuse(self.ann_file, image_size_problems(images))

    def _drop_missing_images(self, data_list: List[dict]) -> List[dict]:
        """``data_list`` without the instances whose image file is
        missing, counted; FileNotFoundError if no image file exists."""
        paths = {d.get('img_path') for d in data_list} - {None}
        missing = sorted(p for p in paths if not osp.isfile(p))
        if not missing:
            return data_list
        self._missing_images = missing
        gone = set(missing)
        kept = [d for d in data_list if d.get('img_path') not in gone]
        self._skipped['on a missing image file'] += len(data_list) - len(kept)
        if not kept and not self.bbox_file:
            raise FileNotFoundError(
                f'{type(self).__name__}: none of the {len(missing)} image '
                f'files of annotation file {self.ann_file} exists (looked in '
                f'{osp.dirname(missing[0]) or "."})')
        return kept

    def load_data_list(self) -> List[dict]:
        """mmpose's data list from checked files, without instances whose
        image is missing; image sizes checked."""
        self._skipped, self._skipped_detections = Counter(), Counter()
        self._missing_images = []
        data = self._check_annotation_file()
        data_list = super().load_data_list()
        interval = getattr(self, 'sample_interval', 1)
        if interval != 1 and not self.bbox_file and isinstance(data, dict):
            left_out = sum(ann['image_id'] % interval != 0
                           for ann in data['annotations'])
            if left_out:
                self._skipped[f'on images left out by sample_interval='
                              f'{interval}'] += left_out
        if not data_list and not self.bbox_file:
            total = len(data['annotations'] if isinstance(data, dict) else
                        data)
            raise DataFileError(
                f'annotation file {self.ann_file}: none of its {total} '
                'annotations is a usable instance (' +
                count_text(self._skipped) + ')')
        data_list = self._drop_missing_images(data_list)
        self._check_image_sizes(data, data_list)
        return data_list

    def filter_data(self) -> List[dict]:
        """mmpose's filter (``filter_cfg``), counted; then the summary
        line of the data list."""
        data_list = super().filter_data()
        below = len(self.data_list) - len(data_list)
        if below:
            self._skipped['box score below bbox_score_thr'] += below
        self.report(len(data_list))
        return data_list

    def report(self, kept: int) -> None:
        """One line: the instances kept and those left out, by reason; a
        warning if any was left out (or none kept), else a log line."""
        line = (f'{type(self).__name__} {self.bbox_file or self.ann_file}: '
                f'{kept} instances kept')
        if self._skipped_detections:  # the words of read_detections
            line += '; skipped detections: ' + ', '.join(
                f'{n} with {r}'
                for r, n in sorted(self._skipped_detections.items()))
        if self._skipped:
            line += '; skipped: ' + count_text(self._skipped)
        if self._missing_images:
            more = len(self._missing_images) - 5
            line += '; missing image files: ' + ', '.join(
                self._missing_images[:5]) + (f' and {more} more'
                                             if more > 0 else '')
        if self.bbox_file and not kept:
            line += ('; no usable person detection: every person counts as '
                     'a miss (AP 0)')
        if self._skipped or self._skipped_detections or not kept:
            warnings.warn(line)
        else:
            print_log(line, logger='current')

    def prepare_data(self, idx: int):
        """Run the pipeline; an unreadable image (or one over the pixel
        budget, or not of the annotation file's size) is skipped with a
        warning (training) or stops the run (testing), naming the file and
        the instance."""
        try:
            return super().prepare_data(idx)
        except Exception as err:
            info = self.get_data_info(idx)
            path = info.get('img_path')
            if not path or path not in str(err):
                raise
            where = f'image {path} (instance id {info.get("id")})'
            reason = str(err).replace(f'cannot read image {path}: ', '', 1)
            if self.test_mode:
                raise RuntimeError(f'cannot read {where}: {reason}') from err
            warnings.warn(f'skipping unreadable {where}: {reason}')
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


# mmpose's inferencers pick their default person detector by the data set
# class's module path, the part after its last ``datasets.`` (``body`` for
# ``mmpose.datasets.datasets.body.coco_dataset``; ``_init_detector`` in
# mmpose/apis/inferencers/base_mmpose_inferencer.py): these body data sets
# are published by ``simdr_ext.datasets.body``, which pickle finds too
for _body_dataset in (CheckedCocoDataset, CheckedCrowdPoseDataset,
                      CheckedMpiiDataset):
    _body_dataset.__module__ = 'simdr_ext.datasets.body'
