# Copyright (c) simdr_ext contributors. All rights reserved.
"""Annotation and detection files: read as JSON data, checked by rule.

One reader and one set of rules for every place that reads these files
(the checked data sets, the demo's ``--bbox-file``, the bbox tool). Only
JSON is read (a ``.json`` name and JSON content), never a pickle, which
would run code on load. A file that breaks a rule of its layout raises
:class:`DataFileError` naming the file, the entry (id or list index) and the
rule before anything is trained or evaluated; detections that are well
formed but unusable (zero-size box, NaN score, another category, ...) are
skipped with one warning that counts them by reason.
"""
import json
import math
import os.path as osp
import warnings
from collections import Counter
from typing import Any, Iterable, Iterator, List, Optional, Tuple

from mmengine.fileio import get as get_bytes

SHOWN = 10  # problems shown in one message; the rest are counted


class DataFileError(ValueError):
    """A data file that breaks a rule of its layout."""


def is_number(value: Any, finite: bool = False) -> bool:
    """A JSON number (``bool`` is an ``int`` in Python, not a number)."""
    return isinstance(value, (int, float)) and not isinstance(
        value, bool) and (not finite or math.isfinite(value))


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def numbers(value: Any, n: int, finite: bool = True) -> bool:
    """A list of ``n`` (finite) numbers."""
    return isinstance(value, list) and len(value) == n and all(
        is_number(v, finite) for v in value)


def refuse(path: str, problems: List[str],
           what: str = 'annotation file') -> None:
    """One :class:`DataFileError` listing the first problems, if any."""
    if problems:
        more = f'; and {len(problems) - SHOWN} more' if len(
            problems) > SHOWN else ''
        raise DataFileError(f'{what} {path}: {len(problems)} problem(s): ' +
                            '; '.join(problems[:SHOWN]) + more)


def read_json_file(path: str, what: str = 'data file') -> Any:
    """The parsed content of a JSON data file (local path or mmengine URI;
    ``what`` names it in messages, e.g. ``'bbox file'``). A missing file
    raises ``FileNotFoundError``; a name without ``.json``, a pickle or
    invalid JSON a :class:`DataFileError`."""
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
    if raw.startswith(b'\x80'):  # PROTO, the first opcode of pickle >= 2
        raise DataFileError(f'{what} {path}: the content is a pickle, not '
                            'JSON; pickles run code when loaded and are '
                            'refused')
    try:
        return json.loads(raw.decode('utf-8'))
    except (UnicodeDecodeError, ValueError) as err:
        raise DataFileError(f'{what} {path}: not valid JSON ({err})') from None


def detection_problem(det: Any) -> str:
    """The COCO results layout rule a detection breaks, or ``''``: an
    object with an integer ``image_id``, a ``bbox`` of 4 numbers (x, y, w,
    h), a number ``score`` and, if present, an integer ``category_id``."""
    if not isinstance(det, dict):
        return f'must be an object, got {type(det).__name__}'
    missing = [k for k in ('image_id', 'bbox', 'score') if k not in det]
    if missing:
        return f'has no "{missing[0]}"'
    for key, ok, rule in (
            ('image_id', is_int(det['image_id']), 'an integer'),
            ('bbox', numbers(det['bbox'], 4, False),
             'a list of 4 numbers (x, y, w, h)'),
            ('score', is_number(det['score']), 'a number'),
            ('category_id', is_int(det.get('category_id', 1)),
             'an integer')):
        if not ok:
            return f'"{key}" must be {rule}, got {det[key]!r}'
    return ''


def detection_skip_reason(det: dict,
                          image_ids: Optional[Iterable[int]] = None) -> str:
    """Why a well-formed detection is not used: ``'not a person'``,
    ``'unknown image'`` (not in ``image_ids``, unless ``None``), ``'bad
    box'`` (non-finite or zero-size), ``'bad score'`` (non-finite or
    negative), or ``''``."""
    if det.get('category_id', 1) != 1:
        return 'not a person'
    if image_ids is not None and det['image_id'] not in image_ids:
        return 'unknown image'
    x, y, w, h = (float(v) for v in det['bbox'])
    if not all(math.isfinite(v) for v in (x, y, w, h)) or w <= 0 or h <= 0:
        return 'bad box'
    if not math.isfinite(det['score']) or det['score'] < 0:
        return 'bad score'
    return ''


def read_detections(bbox_file: str,
                    image_ids: Optional[Iterable[int]] = None) -> List[dict]:
    """The usable person detections of a JSON list in the COCO results
    layout. An entry breaking the layout (:func:`detection_problem`) stops
    with a :class:`DataFileError` naming it; unusable ones
    (:func:`detection_skip_reason`) are skipped with one warning counting
    them, and a file without a usable one warns that everyone is a miss.

    Args:
        bbox_file (str): The detection file (``.json``).
        image_ids (Iterable[int], optional): Image ids of the annotation
            file. Defaults to ``None`` (not checked).

    Returns:
        list[dict]: The usable entries: ``image_id`` (int), ``bbox`` (4
        floats, xywh), ``score`` (float), ``category_id`` 1.
    """
    dets = read_json_file(bbox_file, 'bbox file')
    if not isinstance(dets, list):
        raise DataFileError(
            f'bbox file {bbox_file}: must hold a JSON list of detections '
            f'(COCO results layout), got {type(dets).__name__}')
    refuse(bbox_file, [f'entry {i}: {p}' for i, p in enumerate(
        map(detection_problem, dets)) if p], 'bbox file')
    ids = None if image_ids is None else set(image_ids)
    reasons = [detection_skip_reason(d, ids) for d in dets]
    usable = [dict(image_id=d['image_id'], category_id=1,
                   bbox=[float(v) for v in d['bbox']],
                   score=float(d['score']))
              for d, reason in zip(dets, reasons) if not reason]
    skipped = Counter(r for r in reasons if r)
    if skipped:
        warnings.warn(f'{bbox_file}: skipped detections: ' + ', '.join(
            f'{n} with {r}' for r, n in sorted(skipped.items())))
    if not usable:
        warnings.warn(f'{bbox_file}: no usable person detection among '
                      f'{len(dets)} entries; every person counts as a '
                      'miss (AP 0)')
    return usable


def keypoint_problem(kpts: Any, num_keypoints: int, width: int,
                     key: str = 'keypoints') -> str:
    """The rule a flat list of ``width`` values a keypoint breaks, or
    ``''``."""
    if not isinstance(kpts, list):
        return f'"{key}" must be a list, got {type(kpts).__name__}'
    bad = next((j for j, v in enumerate(kpts) if not is_number(v, True)),
               None)
    if bad is not None:
        return f'"{key}" value {bad} is {kpts[bad]!r}, not a finite number'
    if len(kpts) % width:
        return f'"{key}" has {len(kpts)} values, not a multiple of {width}'
    if len(kpts) != width * num_keypoints:
        return (f'"{key}" has {len(kpts) // width} keypoints, the data set '
                f'has {num_keypoints}')
    return ''


def with_ids(entries: list, kind: str,
             problems: List[str]) -> Iterator[Tuple[str, dict]]:
    """``(where, entry)`` of each object with an integer ``id``; the other
    entries and repeated ids are added to ``problems``."""
    seen = set()
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not is_int(entry.get('id')):
            problems.append(f'{kind} entry {i}: must be an object with an '
                            'integer "id"')
            continue
        where = f'{kind} id {entry["id"]}'
        if entry['id'] in seen:
            problems.append(f'{where}: listed twice ({kind} ids must be '
                            'unique)')
        seen.add(entry['id'])
        yield where, entry


def image_problems(data: Any, path: str) -> Tuple[set, List[str]]:
    """Image ids of a COCO-style file and the rules its images break."""
    if not isinstance(data, dict):
        raise DataFileError(f'annotation file {path}: must be a JSON object '
                            'with "images" and "annotations", got '
                            f'{type(data).__name__}')
    if not isinstance(data.get('images'), list):
        raise DataFileError(f'annotation file {path}: has no "images" list')
    problems, ids = [], set()
    for where, img in with_ids(data['images'], 'image', problems):
        ids.add(img['id'])
        if not isinstance(img.get('file_name'), str):
            problems.append(f'{where}: has no string "file_name"')
        problems += [f'{where}: "{k}" must be a positive number, got '
                     f'{img.get(k)!r}' for k in ('width', 'height')
                     if not (is_number(img.get(k)) and img[k] > 0)]
    return ids, problems


def check_coco_images(data: Any, path: str) -> None:
    """Check the ``images`` of a COCO-style file (the image rules of
    :func:`check_coco_annotations`)."""
    refuse(path, image_problems(data, path)[1])


def check_coco_annotations(data: Any, path: str, num_keypoints: int,
                           need_annotations: bool = True) -> None:
    """Check a COCO-style keypoint annotation file (COCO, CrowdPose).

    Rules: a JSON object; ``images`` a list of objects with a unique integer
    ``id``, a string ``file_name`` and positive ``width`` and ``height``;
    ``annotations`` (required unless ``need_annotations`` is false, e.g.
    when detections replace them) a non-empty list of objects with a unique
    integer ``id``, an ``image_id`` listed in ``images``, ``keypoints`` of
    ``num_keypoints`` × 3 finite numbers and a ``bbox`` of 4 finite numbers.
    A :class:`DataFileError` names the file, the image or annotation id and
    the rule of every problem found (the first 10 shown).
    """
    image_ids, problems = image_problems(data, path)
    anns = data.get('annotations')
    if anns is None and not need_annotations:
        return refuse(path, problems)
    if not isinstance(anns, list):
        refuse(path, problems + ['has no "annotations" list'])
    if not anns and need_annotations:
        problems.append('the "annotations" list is empty')
    for where, ann in with_ids(anns, 'annotation', problems):
        if ann.get('image_id') not in image_ids:
            problems.append(f'{where}: "image_id" {ann.get("image_id")!r} '
                            'is not in "images"')
        found = [
            keypoint_problem(ann['keypoints'], num_keypoints, 3)
            if 'keypoints' in ann else 'has no "keypoints"',
            '' if numbers(ann.get('bbox'), 4) else 'has no "bbox"'
            if 'bbox' not in ann else '"bbox" must be 4 finite numbers '
            f'(x, y, w, h), got {ann["bbox"]!r}'
        ]
        if 'num_keypoints' in ann and not (is_int(ann['num_keypoints'])
                                           and ann['num_keypoints'] >= 0):
            found.append('"num_keypoints" must be an integer >= 0, got '
                         f'{ann["num_keypoints"]!r}')
        problems += [f'{where}: {p}' for p in found if p]
    refuse(path, problems)


def check_mpii_annotations(data: Any, path: str, num_keypoints: int,
                           need_joints: bool = True) -> None:
    """Check an annotation file in mmpose's MPII layout.

    Rules: a non-empty JSON list of objects (annotation id = list index, as
    mmpose numbers them) with a string ``image``, a ``center`` of 2 finite
    numbers and a positive ``scale``; ``joints`` (``num_keypoints`` [x, y]
    pairs of finite numbers) and ``joints_vis`` (``num_keypoints`` numbers),
    required when ``need_joints`` (training) and checked whenever present.
    A :class:`DataFileError` names the file, annotation ids and rules.
    """
    if not isinstance(data, list):
        raise DataFileError(f'annotation file {path}: must be a JSON list '
                            f'(mmpose MPII layout), got {type(data).__name__}')
    if not data:
        raise DataFileError(f'annotation file {path}: the annotation list '
                            'is empty')
    problems = []
    for i, ann in enumerate(data):
        where = f'annotation id {i}'
        if not isinstance(ann, dict):
            problems.append(f'{where}: must be an object')
            continue
        if not isinstance(ann.get('image'), str):
            problems.append(f'{where}: has no string "image"')
        if not numbers(ann.get('center'), 2):
            problems.append(f'{where}: "center" must be 2 finite numbers, '
                            f'got {ann.get("center")!r}')
        if not (is_number(ann.get('scale'), True) and ann['scale'] > 0):
            problems.append(f'{where}: "scale" must be a positive number, '
                            f'got {ann.get("scale")!r}')
        for key, width in (('joints', 2), ('joints_vis', 1)):
            value = ann.get(key)
            if key not in ann:
                problem = f'has no "{key}"' if need_joints else ''
            elif key == 'joints' and not (isinstance(value, list) and all(
                    isinstance(p, list) and len(p) == 2 for p in value)):
                problem = '"joints" must be a list of [x, y] pairs'
            else:
                if key == 'joints':
                    value = [v for pair in value for v in pair]
                problem = keypoint_problem(value, num_keypoints, width, key)
            if problem:
                problems.append(f'{where}: {problem}')
    refuse(path, problems)
