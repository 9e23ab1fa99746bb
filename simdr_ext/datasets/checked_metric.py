# Copyright (c) simdr_ext contributors. All rights reserved.
"""mmpose's ``CocoMetric`` on a checked annotation file, over finite
results, and on an empty result set.

- The annotation file (``ann_file``) is checked before COCOeval reads it
  (:func:`~simdr_ext.datasets.data_files.check_coco_evaluation_file`): a
  string ``category_id``, a NaN keypoint or a missing ``categories`` list
  would otherwise give AP -1 or wrong APs without an error.
- Results with a non-finite keypoint or score (a model that outputs NaN,
  a box so large that its crop maps back to infinity) are left out with a
  warning that counts them; their people count as misses.
- A test set built from a detection file without a usable person detection
  gives the metric no result; mmpose's ``CocoMetric`` then stops
  (``preds, gts = zip(*results)``; the COCO API's ``loadRes`` indexes the
  first result). Here COCOeval runs on an empty result set instead: every
  person is a miss (AP 0 with people in the annotation file), with a
  warning.
"""
import os.path as osp
import tempfile
import warnings
from collections import OrderedDict
from typing import Dict, List, Optional

import numpy as np
from mmengine.fileio import load
from xtcocotools.coco import COCO

from mmpose.evaluation.metrics import CocoMetric
from mmpose.registry import METRICS
from .data_files import check_coco_evaluation_file, read_json_file

#: per-instance arrays of a keypoint result, first axis N (instances)
INSTANCE_KEYS = ('keypoints', 'keypoint_scores', 'bbox_scores', 'areas',
                 'bbox')


def empty_results(gt: COCO, res_file: str) -> COCO:
    """A COCO result set without detections over the images of ``gt``, as
    xtcocotools' ``loadRes`` would make it from an empty ``res_file``."""
    if len(gt.anno_file) == 1:  # CrowdPose's evaluation reads both names
        gt.anno_file.append(res_file)
    res = COCO()
    res.dataset = dict(
        images=list(gt.dataset['images']),
        categories=list(gt.dataset.get('categories', [])),
        annotations=[])
    res.createIndex()
    return res


def finite_rows(pred: dict) -> np.ndarray:
    """(N,) bool: the instances of a keypoint result whose keypoints
    (N, K, 2), keypoint scores (N, K) and box scores (N,) are finite."""
    ok = np.ones(len(pred['keypoints']), bool)
    for key in ('keypoints', 'keypoint_scores', 'bbox_scores'):
        if key in pred:
            values = np.asarray(pred[key], np.float64)
            ok &= np.isfinite(values.reshape(len(ok), -1)).all(1)
    return ok


@METRICS.register_module()
class CheckedCocoMetric(CocoMetric):
    """mmpose's ``CocoMetric`` (same arguments) with the checks of the
    module: ``ann_file`` checked when the metric is built, non-finite
    results left out (counted), an empty result set evaluated."""

    def __init__(self, ann_file: Optional[str] = None, **kwargs) -> None:
        if ann_file is not None:
            check_coco_evaluation_file(
                read_json_file(ann_file, 'annotation file'), ann_file,
                kwargs.get('use_area', True),
                kwargs.get('iou_type', 'keypoints'))
        super().__init__(ann_file=ann_file, **kwargs)

    def finite_results(self, results: list) -> List[tuple]:
        """``results`` without the instances whose keypoints or scores are
        not finite, with one warning counting them (by instance id)."""
        kept, bad_ids, total, bad = [], [], 0, 0
        for pred, gt in results:
            ok = finite_rows(pred)
            total, bad = total + len(ok), bad + int((~ok).sum())
            if not ok.all():
                bad_ids.append(pred.get('id'))
                pred = {
                    k: np.asarray(v)[ok] if k in INSTANCE_KEYS
                    and len(v) == len(ok) else v
                    for k, v in pred.items()
                }
            kept.append((pred, gt))
        if bad:
            more = f' and {len(bad_ids) - 10} more' if len(
                bad_ids) > 10 else ''
            warnings.warn(
                f'{type(self).__name__}: left out {bad} of {total} keypoint '
                'results, each with a non-finite keypoint or score (NaN or '
                'inf), of instance ids '
                f'{", ".join(map(str, bad_ids[:10]))}{more}; their people '
                'count as misses')
        return kept

    def compute_metrics(self, results: list) -> Dict[str, float]:
        results = self.finite_results(results)
        if results:
            return super().compute_metrics(results)
        if self.coco is None:
            raise ValueError(f'{type(self).__name__}: no result to evaluate '
                             'and no ann_file to count the misses against')
        warnings.warn(f'{type(self).__name__}: no keypoint result to '
                      'evaluate (no usable person detection?); every '
                      'person counts as a miss')
        tmp_dir = tempfile.TemporaryDirectory() \
            if self.outfile_prefix is None else None
        outfile_prefix = osp.join(tmp_dir.name, 'results') if tmp_dir \
            else self.outfile_prefix
        try:
            self.results2json({}, outfile_prefix=outfile_prefix)
            if self.format_only:
                return {}
            return OrderedDict(self._do_python_keypoint_eval(outfile_prefix))
        finally:
            if tmp_dir is not None:
                tmp_dir.cleanup()

    def _do_python_keypoint_eval(self, outfile_prefix: str) -> list:
        if load(f'{outfile_prefix}.keypoints.json'):
            return super()._do_python_keypoint_eval(outfile_prefix)
        gt = self.coco
        # the COCO API's loadRes cannot build an empty result set
        gt.loadRes = lambda res_file: empty_results(gt, res_file)
        try:
            return super()._do_python_keypoint_eval(outfile_prefix)
        finally:
            del gt.loadRes
