# Copyright (c) simdr_ext contributors. All rights reserved.
"""Annotation and detection files: read as JSON data, checked by rule.

One reader and one set of rules for every place that reads these files
(the checked data sets, the demo's ``--bbox-file``, the bbox tool), so that
a file is accepted or refused the same way everywhere.

Files are data: only JSON is read (a ``.json`` name and JSON content, read
with Python's ``json``), never a pickle, which would run code on load.

A file that breaks a rule of its layout raises :class:`DataFileError` naming
the file, the entry (annotation id or list index) and the rule, before
anything is trained or evaluated. Detections that are well formed but
unusable (zero-size box, NaN score, another category, ...) are skipped with
one warning that counts them by reason.
"""
import json
import math
import os.path as osp
import warnings
from typing import Any, Dict, Iterable, List, Optional, Tuple

from mmengine.fileio import get as get_bytes

# the first byte of a pickle of protocol 2 or higher (PROTO opcode)
_PICKLE_PROTO = b'\x80'
# errors shown in one message; the rest are counted
_SHOWN = 10


class DataFileError(ValueError):
    """A data file that breaks a rule of its layout."""


def _is_number(value: Any) -> bool:
    """A JSON number (``bool`` is an ``int`` in Python but not a number)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _raise(path: str, what: str, problems: List[str]) -> None:
    """Raise one :class:`DataFileError` listing the first problems."""
    if not problems:
        return
    more = len(problems) - _SHOWN
    text = '; '.join(problems[:_SHOWN]) + (
        f'; and {more} more' if more > 0 else '')
    raise DataFileError(f'{what} {path}: {len(problems)} problem(s): {text}')


def read_json_file(path: str, what: str = 'data file') -> Any:
    """The content of a JSON data file; anything else is refused.

    The name must end with ``.json`` and the content must be JSON. Nothing
    but Python's ``json`` parser sees the bytes, so no file can run code.

    Args:
        path (str): The file (a local path or an mmengine backend URI).
        what (str): What the file is, for messages, e.g. ``'bbox file'``.

    Returns:
        The parsed JSON value.

    Raises:
        FileNotFoundError: The file does not exist.
        DataFileError: Not a ``.json`` name, a pickle, or not valid JSON.
    """
    path = str(path)
    if not path.lower().endswith('.json'):
        raise DataFileError(
            f'{what} {path}: only JSON files (.json) are read, got '
            f'"{osp.splitext(path)[1] or "no extension"}"; other formats '
            '(e.g. pickle, which runs code when loaded) are refused')
    try:
        raw = get_bytes(path)
    except FileNotFoundError:
        raise FileNotFoundError(f'{what} {path} does not exist') from None
    if raw.startswith(_PICKLE_PROTO):
        raise DataFileError(f'{what} {path}: the content is a pickle, not '
                            'JSON; pickles run code when loaded and are '
                            'refused')
    try:
        return json.loads(raw.decode('utf-8'))
    except (UnicodeDecodeError, ValueError) as err:
        raise DataFileError(f'{what} {path}: not valid JSON ({err})') from None


# --------------------------------------------------------------------------
# detection files (COCO results layout)
# --------------------------------------------------------------------------
def detection_entry_problem(det: Any) -> str:
    """Which layout rule a detection entry breaks, or ``''``.

    Rules: a JSON object with an integer ``image_id``, a ``bbox`` of 4
    numbers (x, y, w, h), a number ``score`` and, if present, an integer
    ``category_id``.
    """
    if not isinstance(det, dict):
        return f'must be an object, got {type(det).__name__}'
    for key in ('image_id', 'bbox', 'score'):
        if key not in det:
            return f'has no "{key}"'
    if not _is_int(det['image_id']):
        return f'"image_id" must be an integer, got {det["image_id"]!r}'
    box = det['bbox']
    if not isinstance(box, list) or len(box) != 4 or not all(
            _is_number(v) for v in box):
        return f'"bbox" must be a list of 4 numbers (x, y, w, h), got ' \
               f'{box!r}'
    if not _is_number(det['score']):
        return f'"score" must be a number, got {det["score"]!r}'
    if 'category_id' in det and not _is_int(det['category_id']):
        return f'"category_id" must be an integer, got ' \
               f'{det["category_id"]!r}'
    return ''


def detection_skip_reason(det: dict,
                          image_ids: Optional[Iterable[int]] = None) -> str:
    """Why a well-formed detection is not used, or ``''``.

    Args:
        det (dict): An entry that passed :func:`detection_entry_problem`.
        image_ids (set, optional): Image ids of the annotation file; ``None``
            does not check the id.

    Returns:
        str: ``'not a person'``, ``'unknown image'``, ``'bad box'``,
        ``'bad score'`` or ``''``.
    """
    if det.get('category_id', 1) != 1:
        return 'not a person'
    if image_ids is not None and det['image_id'] not in image_ids:
        return 'unknown image'
    x, y, w, h = (float(v) for v in det['bbox'])
    if not all(math.isfinite(v) for v in (x, y, w, h)) or w <= 0 or h <= 0:
        return 'bad box'
    score = float(det['score'])
    if not math.isfinite(score) or score < 0:
        return 'bad score'
    return ''


def read_detections(bbox_file: str,
                    image_ids: Optional[Iterable[int]] = None) -> List[dict]:
    """The usable person detections of a detection file.

    The file is a JSON list in the COCO results layout
    (``{"image_id", "category_id", "bbox": [x, y, w, h], "score"}``). An
    entry that breaks the layout (see :func:`detection_entry_problem`)
    stops with a :class:`DataFileError` naming it; a well-formed entry that
    is not a person, is for an image id not in ``image_ids``, or has a
    non-finite or zero-size box or a non-finite or negative score is skipped,
    with one warning that counts them. A file with no usable detection
    warns that every person will count as a miss.

    Args:
        bbox_file (str): The detection file (``.json``).
        image_ids (Iterable[int], optional): Image ids of the annotation
            file. Defaults to ``None`` (not checked).

    Returns:
        list[dict]: Copies of the usable entries with ``image_id`` (int),
        ``bbox`` (4 floats, xywh), ``score`` (float), ``category_id`` 1.
    """
    dets = read_json_file(bbox_file, 'bbox file')
    if not isinstance(dets, list):
        raise DataFileError(
            f'bbox file {bbox_file}: must hold a JSON list of detections '
            f'(COCO results layout), got {type(dets).__name__}')
    problems = []
    for i, det in enumerate(dets):
        problem = detection_entry_problem(det)
        if problem:
            problems.append(f'entry {i}: {problem}')
    _raise(bbox_file, 'bbox file', problems)
    ids = None if image_ids is None else set(image_ids)
    skipped: Dict[str, int] = {}
    usable = []
    for det in dets:
        reason = detection_skip_reason(det, ids)
        if reason:
            skipped[reason] = skipped.get(reason, 0) + 1
            continue
        usable.append(
            dict(
                image_id=det['image_id'],
                category_id=1,
                bbox=[float(v) for v in det['bbox']],
                score=float(det['score'])))
    if skipped:
        warnings.warn(f'{bbox_file}: skipped detections: ' +
                      ', '.join(f'{n} with {r}'
                                for r, n in sorted(skipped.items())))
    if not usable:
        warnings.warn(f'{bbox_file}: no usable person detection among '
                      f'{len(dets)} entries; every person counts as a '
                      'miss (AP 0)')
    return usable


# --------------------------------------------------------------------------
# annotation files
# --------------------------------------------------------------------------
def _keypoint_problem(kpts: Any, num_keypoints: int, width: int) -> str:
    """Rule broken by a flat keypoint list of ``width`` values a point."""
    if not isinstance(kpts, list):
        return f'"keypoints" must be a list, got {type(kpts).__name__}'
    bad = next((j for j, v in enumerate(kpts)
                if not _is_number(v) or not math.isfinite(v)), None)
    if bad is not None:
        return (f'"keypoints" value {bad} is {kpts[bad]!r}, not a finite '
                'number')
    if len(kpts) % width:
        return (f'"keypoints" has {len(kpts)} values, not a multiple of '
                f'{width}')
    if len(kpts) != width * num_keypoints:
        return (f'"keypoints" has {len(kpts) // width} keypoints, the data '
                f'set has {num_keypoints}')
    return ''


def _box_problem(box: Any) -> str:
    if not isinstance(box, list) or len(box) != 4 or not all(
            _is_number(v) and math.isfinite(v) for v in box):
        return f'"bbox" must be 4 finite numbers (x, y, w, h), got {box!r}'
    return ''


def _image_problems(data: Any, path: str) -> Tuple[set, List[str]]:
    """Image ids of a COCO-style file and the rules its images break."""
    what = 'annotation file'
    if not isinstance(data, dict):
        raise DataFileError(f'{what} {path}: must be a JSON object with '
                            f'"images" and "annotations", got '
                            f'{type(data).__name__}')
    if not isinstance(data.get('images'), list):
        raise DataFileError(f'{what} {path}: has no "images" list')
    problems = []
    image_ids = set()
    for i, img in enumerate(data['images']):
        if not isinstance(img, dict) or not _is_int(img.get('id')):
            problems.append(f'image entry {i}: must be an object with an '
                            'integer "id"')
            continue
        where = f'image id {img["id"]}'
        if img['id'] in image_ids:
            problems.append(f'{where}: listed twice (image ids must be '
                            'unique)')
        image_ids.add(img['id'])
        if not isinstance(img.get('file_name'), str):
            problems.append(f'{where}: has no string "file_name"')
        for key in ('width', 'height'):
            if not _is_number(img.get(key)) or not img[key] > 0:
                problems.append(f'{where}: "{key}" must be a positive '
                                f'number, got {img.get(key)!r}')
    return image_ids, problems


def check_coco_images(data: Any, path: str) -> None:
    """Check the ``images`` of a COCO-style file (the rules of
    :func:`check_coco_annotations` for images)."""
    _raise(path, 'annotation file', _image_problems(data, path)[1])


def check_coco_annotations(data: Any, path: str, num_keypoints: int,
                           need_annotations: bool = True) -> None:
    """Check a COCO-style keypoint annotation file (COCO, CrowdPose).

    Rules: a JSON object; ``images`` a list of objects with a unique integer
    ``id``, a string ``file_name`` and positive ``width`` and ``height``;
    ``annotations`` (required unless ``need_annotations`` is false, e.g.
    when detections replace them) a non-empty list of objects with a unique
    integer ``id``, an ``image_id`` listed in ``images``, ``keypoints`` of
    ``num_keypoints`` × 3 finite numbers and a ``bbox`` of 4 finite numbers.

    Args:
        data: The parsed file.
        path (str): The file, for messages.
        num_keypoints (int): K of the data set.
        need_annotations (bool): Whether ``annotations`` must be there and
            non-empty. Defaults to ``True``.

    Raises:
        DataFileError: Naming the file, the image or annotation id and the
            rule, for every problem found (the first 10 shown).
    """
    what = 'annotation file'
    image_ids, problems = _image_problems(data, path)
    anns = data.get('annotations')
    if anns is None and not need_annotations:
        _raise(path, what, problems)
        return
    if not isinstance(anns, list):
        problems.append('has no "annotations" list')
        _raise(path, what, problems)
    if not anns and need_annotations:
        problems.append('the "annotations" list is empty')
    ann_ids = set()
    for i, ann in enumerate(anns):
        if not isinstance(ann, dict) or not _is_int(ann.get('id')):
            problems.append(f'annotation entry {i}: must be an object with '
                            'an integer "id"')
            continue
        where = f'annotation id {ann["id"]}'
        if ann['id'] in ann_ids:
            problems.append(f'{where}: listed twice (annotation ids must '
                            'be unique)')
        ann_ids.add(ann['id'])
        if ann.get('image_id') not in image_ids:
            problems.append(f'{where}: "image_id" {ann.get("image_id")!r} '
                            'is not in "images"')
        if 'keypoints' not in ann:
            problems.append(f'{where}: has no "keypoints"')
        else:
            problem = _keypoint_problem(ann['keypoints'], num_keypoints, 3)
            if problem:
                problems.append(f'{where}: {problem}')
        if 'bbox' not in ann:
            problems.append(f'{where}: has no "bbox"')
        elif _box_problem(ann['bbox']):
            problems.append(f'{where}: {_box_problem(ann["bbox"])}')
        if 'num_keypoints' in ann and not (_is_int(ann['num_keypoints'])
                                           and ann['num_keypoints'] >= 0):
            problems.append(f'{where}: "num_keypoints" must be an integer '
                            f'>= 0, got {ann["num_keypoints"]!r}')
    _raise(path, what, problems)


def check_mpii_annotations(data: Any, path: str, num_keypoints: int,
                           need_joints: bool = True) -> None:
    """Check an annotation file in mmpose's MPII layout.

    Rules: a non-empty JSON list of objects (annotation id = list index, as
    mmpose numbers them) with a string ``image``, a ``center`` of 2 finite
    numbers and a positive ``scale``; ``joints`` (``num_keypoints`` pairs
    of finite numbers) and ``joints_vis`` (``num_keypoints`` numbers),
    required when ``need_joints`` and checked whenever present.

    Args:
        data: The parsed file.
        path (str): The file, for messages.
        num_keypoints (int): K of the data set.
        need_joints (bool): Whether ``joints`` and ``joints_vis`` must be
            there (training). Defaults to ``True``.

    Raises:
        DataFileError: Naming the file, the annotation id and the rule.
    """
    what = 'annotation file'
    if not isinstance(data, list):
        raise DataFileError(f'{what} {path}: must be a JSON list (mmpose '
                            f'MPII layout), got {type(data).__name__}')
    if not data:
        raise DataFileError(f'{what} {path}: the annotation list is empty')
    problems = []
    for i, ann in enumerate(data):
        where = f'annotation id {i}'
        if not isinstance(ann, dict):
            problems.append(f'{where}: must be an object')
            continue
        if not isinstance(ann.get('image'), str):
            problems.append(f'{where}: has no string "image"')
        center = ann.get('center')
        if not isinstance(center, list) or len(center) != 2 or not all(
                _is_number(v) and math.isfinite(v) for v in center):
            problems.append(f'{where}: "center" must be 2 finite numbers, '
                            f'got {center!r}')
        scale = ann.get('scale')
        if not _is_number(scale) or not math.isfinite(scale) or scale <= 0:
            problems.append(f'{where}: "scale" must be a positive number, '
                            f'got {scale!r}')
        for key in ('joints', 'joints_vis'):
            if key not in ann:
                if need_joints:
                    problems.append(f'{where}: has no "{key}"')
                continue
            value = ann[key]
            if key == 'joints':
                flat = [v for p in value for v in p] if isinstance(
                    value, list) and all(
                        isinstance(p, list) and len(p) == 2
                        for p in value) else None
                if flat is None:
                    problems.append(f'{where}: "joints" must be a list of '
                                    '[x, y] pairs')
                    continue
                problem = _keypoint_problem(flat, num_keypoints, 2)
            else:
                problem = _keypoint_problem(value, num_keypoints, 1)
            if problem:
                problems.append(f'{where}: ' + problem.replace(
                    '"keypoints"', f'"{key}"'))
    _raise(path, what, problems)
