# Copyright (c) simdr_ext contributors. All rights reserved.
"""mmpose's ``CocoMetric`` that evaluates an empty result set.

A test set built from a detection file without a usable person detection
gives the metric no result; mmpose's ``CocoMetric`` then stops
(``preds, gts = zip(*results)``; the COCO API's ``loadRes`` indexes the first
result). Here COCOeval runs on an empty result set instead: every person is
a miss (AP 0 with people in the annotation file), with a warning.
"""
import os.path as osp
import tempfile
import warnings
from collections import OrderedDict
from typing import Dict

from mmengine.fileio import load
from xtcocotools.coco import COCO

from mmpose.evaluation.metrics import CocoMetric
from mmpose.registry import METRICS


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


@METRICS.register_module()
class CheckedCocoMetric(CocoMetric):
    """mmpose's ``CocoMetric`` (same arguments); no result at all gives the
    metrics of an empty result set and a warning, not a crash."""

    def compute_metrics(self, results: list) -> Dict[str, float]:
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
