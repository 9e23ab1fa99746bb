# Copyright (c) simdr_ext contributors. All rights reserved.
"""Write a person ``bbox_file`` (COCO results layout) with an mmdet detector.

Example::

    python tools/misc/generate_bbox_file.py DET_CONFIG DET_CHECKPOINT \\
        data/coco/annotations/person_keypoints_val2017.json \\
        --img-root data/coco/val2017 --out dets.json

The layout is what mmpose's data sets read through ``bbox_file``: a JSON
list of ``{"image_id", "category_id": 1, "bbox": [x, y, w, h], "score"}``.
Reading such a file (the test data sets, the demo) and writing one (this
tool) follow one set of rules, :mod:`simdr_ext.datasets.data_files`:
:func:`~simdr_ext.datasets.read_detections` is the reader, and the tool
writes only entries that the reader would use. ``DET_CHECKPOINT`` ``none``
keeps the detector's random weights (with ``--seed``: reproducible), for
tests.
"""
import argparse
import os
import os.path as osp
import warnings
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.config import DictAction
from mmengine.fileio import dump
from mmengine.utils import ProgressBar

from simdr_ext.datasets.data_files import (check_coco_images,
                                           detection_skip_reason,
                                           read_json_file)
from simdr_ext.utils.cli import tool_parser

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.webp')


def list_images(source: str,
                img_root: Optional[str] = None) -> List[Tuple[int, str]]:
    """``(image_id, path)`` pairs of an image folder or a COCO file.

    A folder's images are sorted by name; an image whose name is a number
    (COCO's ``000000000785.jpg``) gets that number as its id, the others
    their position in the sorted list. A COCO annotation file gives its own
    ids, with paths ``img_root/file_name`` (``img_root`` defaults to the
    file's folder).

    Args:
        source (str): An image folder or a COCO-format annotation file.
        img_root (str, optional): Image folder for a COCO file. Defaults to
            ``None``.

    Returns:
        list[tuple[int, str]]: The images.
    """
    if osp.isdir(source):
        names = sorted(n for n in os.listdir(source)
                       if n.lower().endswith(IMAGE_SUFFIXES))
        return [(int(osp.splitext(n)[0]) if osp.splitext(n)[0].isdigit()
                 else i, osp.join(source, n)) for i, n in enumerate(names)]
    if source.lower().endswith('.json'):
        data = read_json_file(source, 'annotation file')
        check_coco_images(data, source)
        root = img_root if img_root is not None else osp.dirname(source)
        return [(img['id'], osp.join(root, img['file_name']))
                for img in data['images']]
    raise ValueError(f'{source} is neither an image folder nor a COCO '
                     'annotation file (.json)')


def person_label(classes: Sequence[str]) -> int:
    """Index of the person class of a detector (0 for person-only ones)."""
    names = [c.lower() for c in classes or ()]
    if 'person' in names:
        return names.index('person')
    if len(names) <= 1:
        return 0
    raise ValueError(f'the detector has no "person" class: {classes}')


def detections_to_results(image_id: int, bboxes: np.ndarray,
                          scores: np.ndarray, labels: np.ndarray,
                          person: int, score_thr: float) -> List[Dict]:
    """One image's person detections in the COCO results layout.

    Args:
        image_id (int): The image id.
        bboxes (np.ndarray): Boxes ``(x1, y1, x2, y2)`` in shape (M, 4).
        scores (np.ndarray): Scores in shape (M, ).
        labels (np.ndarray): Class indices in shape (M, ).
        person (int): The person class index.
        score_thr (float): Keep scores >= this.

    Returns:
        list[dict]: Entries with ``image_id``, ``category_id`` 1, ``bbox``
        (xywh, rounded to 0.01 px) and ``score``; only those that
        :func:`simdr_ext.datasets.read_detections` uses (finite boxes of
        positive size after rounding, finite scores >= 0).
    """
    keep = (labels == person) & (scores >= score_thr)
    xywh = bboxes[keep].astype(np.float64).copy()
    xywh[:, 2:] -= xywh[:, :2]
    entries = (
        dict(image_id=int(image_id), category_id=1,
             bbox=[round(float(v), 2) for v in box],
             score=round(float(s), 5))
        for box, s in zip(xywh, scores[keep]))
    return [e for e in entries if not detection_skip_reason(e)]


def generate_bbox_file(det_config: str,
                       det_checkpoint: Optional[str],
                       source: str,
                       out_file: str,
                       img_root: Optional[str] = None,
                       score_thr: float = 0.0,
                       device: str = 'cpu',
                       cfg_options: Optional[dict] = None,
                       seed: Optional[int] = None) -> List[Dict]:
    """Run an mmdet detector over images and write a ``bbox_file``.

    Args:
        det_config (str): mmdet config file.
        det_checkpoint (str, optional): Its checkpoint; ``None`` keeps the
            random weights (for tests). Loaded with ``weights_only=True``.
        source (str): Image folder or COCO annotation file.
        out_file (str): The JSON file to write (``.json``).
        img_root (str, optional): Image folder for a COCO file. Defaults to
            ``None``.
        score_thr (float): Minimum detection score. Defaults to 0.0.
        device (str): Device. Defaults to ``'cpu'``.
        cfg_options (dict, optional): Overrides for the detector config.
            Defaults to ``None``.
        seed (int, optional): Seed torch before the detector is built, so
            that random weights (no checkpoint) are reproducible. Defaults
            to ``None``.

    Returns:
        list[dict]: The entries written.
    """
    if not str(out_file).lower().endswith('.json'):
        raise ValueError(f'out_file {out_file}: detection files are '
                         'written as JSON and must be named .json')
    from mmdet.apis import inference_detector, init_detector

    if seed is not None:
        torch.manual_seed(seed)
    detector = init_detector(
        det_config, det_checkpoint, device=device, cfg_options=cfg_options)
    person = person_label(detector.dataset_meta.get('classes'))
    images = list_images(source, img_root)
    results: List[Dict] = []
    progress = ProgressBar(len(images))
    for image_id, path in images:
        if not osp.isfile(path):
            raise FileNotFoundError(f'image {path} (id {image_id}) does '
                                    'not exist')
        pred = inference_detector(detector, path).pred_instances.cpu()
        results += detections_to_results(image_id, pred.bboxes.numpy(),
                                         pred.scores.numpy(),
                                         pred.labels.numpy(), person,
                                         score_thr)
        progress.update()
    if not results:
        warnings.warn(f'{out_file}: no person detection at score >= '
                      f'{score_thr}; the file holds an empty list')
    dump(results, out_file)
    return results


def build_parser() -> argparse.ArgumentParser:
    """The command line: the module docstring is its description, its
    examples the epilog."""
    parser = tool_parser(__doc__)
    parser.add_argument('det_config', help='mmdet config file')
    parser.add_argument(
        'det_checkpoint', help='mmdet checkpoint ("none": random weights)')
    parser.add_argument('source', help='image folder or COCO annotation file')
    parser.add_argument(
        '--out', required=True, help='output JSON file (a .json name)')
    parser.add_argument(
        '--img-root',
        help="image folder of a COCO file (without it: the file's folder)")
    parser.add_argument(
        '--score-thr',
        type=float,
        default=0.0,
        help='minimum score of a written person box')
    parser.add_argument(
        '--device', default='cpu', help='torch device, e.g. cuda:0')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override entries of the detector config, key=value')
    parser.add_argument(
        '--seed', type=int, help='seed torch (reproducible random weights)')
    return parser


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.out.lower().endswith('.json'):
        parser.error(f'--out {args.out}: detection files are JSON; the '
                     'name must end with .json')
    checkpoint = None if args.det_checkpoint.lower() == 'none' \
        else args.det_checkpoint
    results = generate_bbox_file(args.det_config, checkpoint, args.source,
                                 args.out, args.img_root, args.score_thr,
                                 args.device, args.cfg_options, args.seed)
    print(f'\nwrote {len(results)} person detections to {args.out}')


if __name__ == '__main__':
    main()
