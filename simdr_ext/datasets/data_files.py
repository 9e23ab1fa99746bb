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

Numbers must fit where they go: ids and other integers in int64, boxes,
keypoints, scores and sizes in float32 (NaN and infinity only where a rule
skips them); any legal JSON, however large its numbers or deep its
nesting, gives a :class:`DataFileError` or is accepted.
"""
import json
import math
import os.path as osp
import warnings
from collections import Counter
from itertools import compress
from typing import Any, Iterable, Iterator, List, Optional, Tuple

from mmengine.fileio import get as get_bytes

SHOWN = 10  # problems shown in one message; the rest are counted
#: deepest nesting of lists and objects read (COCO files nest 5 deep);
#: deeper data would overflow the recursion of copies and pickles later
MAX_DEPTH = 64
CONTAINERS = frozenset((list, dict))  # what JSON arrays and objects become
INT64_MIN, INT64_MAX = -2**63, 2**63 - 1
FLOAT32_MAX = 3.4028234663852886e+38  # np.finfo(np.float32).max


class DataFileError(ValueError):
    """A data file that breaks a rule of its layout."""


def is_number(value: Any, finite: bool = False) -> bool:
    """A JSON number that float32 holds (``bool`` is an ``int`` in
    Python, not a number): finite values within float32's range, and NaN
    and infinities unless ``finite``. ``1e300`` or a 400-digit integer is
    no such number (float32 would make it infinite)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if isinstance(value, int):  # exact comparison, no float conversion
        return -FLOAT32_MAX <= value <= FLOAT32_MAX
    if not math.isfinite(value):
        return not finite
    return abs(value) <= FLOAT32_MAX


def is_int(value: Any) -> bool:
    """A JSON integer within int64 (``bool`` is not one)."""
    return isinstance(value, int) and not isinstance(
        value, bool) and INT64_MIN <= value <= INT64_MAX


def shown(value: Any, width: int = 40) -> str:
    """``repr(value)``, cut to ``width`` characters for messages."""
    text = repr(value)
    return text if len(text) <= width else text[:width - 3] + '...'


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
    raises ``FileNotFoundError``; a name without ``.json``, a pickle,
    invalid JSON or lists and objects nested more than :data:`MAX_DEPTH`
    levels deep a :class:`DataFileError`."""
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
    deep = False
    try:
        data = json.loads(raw.decode('utf-8'))
    except (UnicodeDecodeError, ValueError) as err:
        raise DataFileError(f'{what} {path}: not valid JSON ({err})') from None
    except RecursionError:  # the parser's own limit, near 1000 levels
        deep = True
    if deep or too_deep(data):
        raise DataFileError(
            f'{what} {path}: lists and objects nest more than {MAX_DEPTH} '
            'levels deep; data files nest a few levels') from None
    return data


def too_deep(data: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether lists and objects in ``data`` nest more than ``limit``
    levels (walked level by level, without recursion)."""
    level = [data] if type(data) in CONTAINERS else []
    for _ in range(limit):
        below: list = []
        for value in level:
            values = value.values() if type(value) is dict else value
            below.extend(
                compress(values, map(CONTAINERS.__contains__,
                                     map(type, values))))
        if not below:
            return False
        level = below
    return True


def detection_problem(det: Any) -> str:
    """The COCO results layout rule a detection breaks, or ``''``: an
    object with an int64 ``image_id``, a ``bbox`` of 4 numbers (x, y, w,
    h), a number ``score`` and, if present, an int64 ``category_id``;
    numbers within float32's range (NaN and infinities are unusable, not
    malformed: :func:`detection_skip_reason`)."""
    if not isinstance(det, dict):
        return f'must be an object, got {type(det).__name__}'
    missing = [k for k in ('image_id', 'bbox', 'score') if k not in det]
    if missing:
        return f'has no "{missing[0]}"'
    for key, ok, rule in (
            ('image_id', is_int(det['image_id']), 'an integer (int64)'),
            ('bbox', numbers(det['bbox'], 4, False),
             'a list of 4 numbers (x, y, w, h) within float32 range'),
            ('score', is_number(det['score']),
             'a number within float32 range'),
            ('category_id', is_int(det.get('category_id', 1)),
             'an integer (int64)')):
        if not ok:
            return f'"{key}" must be {rule}, got {shown(det[key])}'
    return ''


def detection_skip_reason(det: dict,
                          image_ids: Optional[Iterable[int]] = None) -> str:
    """Why a well-formed detection is not used: ``'not a person'``,
    ``'unknown image'`` (not in ``image_ids``, unless ``None``), ``'bad
    box'`` (non-finite, zero-size, or a far corner ``x + w`` / ``y + h``
    beyond float32), ``'bad score'`` (non-finite or negative), or
    ``''``."""
    if det.get('category_id', 1) != 1:
        return 'not a person'
    if image_ids is not None and det['image_id'] not in image_ids:
        return 'unknown image'
    x, y, w, h = (float(v) for v in det['bbox'])
    if not all(math.isfinite(v) for v in (x, y, w, h)) or w <= 0 or h <= 0:
        return 'bad box'
    if abs(x + w) > FLOAT32_MAX or abs(y + h) > FLOAT32_MAX:
        return 'bad box'
    if not math.isfinite(det['score']) or det['score'] < 0:
        return 'bad score'
    return ''


def sort_detections(
        bbox_file: str,
        image_ids: Optional[Iterable[int]] = None
) -> Tuple[List[dict], Counter, int]:
    """The rules of :func:`read_detections`, without its warnings.

    Returns:
        tuple: The usable entries (see :func:`read_detections`), the
        skipped ones counted by reason (``Counter``) and the number of
        entries in the file.
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
    return usable, Counter(r for r in reasons if r), len(dets)


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
    usable, skipped, total = sort_detections(bbox_file, image_ids)
    if skipped:
        warnings.warn(f'{bbox_file}: skipped detections: ' + ', '.join(
            f'{n} with {r}' for r, n in sorted(skipped.items())))
    if not usable:
        warnings.warn(f'{bbox_file}: no usable person detection among '
                      f'{total} entries; every person counts as a '
                      'miss (AP 0)')
    return usable


def keypoint_problem(kpts: Any, num_keypoints: Optional[int], width: int,
                     key: str = 'keypoints') -> str:
    """The rule a flat list of ``width`` values a keypoint breaks, or
    ``''``: finite numbers within float32, ``num_keypoints`` of them
    (``None``: any number)."""
    if not isinstance(kpts, list):
        return f'"{key}" must be a list, got {type(kpts).__name__}'
    bad = next((j for j, v in enumerate(kpts) if not is_number(v, True)),
               None)
    if bad is not None:
        return (f'"{key}" value {bad} is {shown(kpts[bad])}, not a finite '
                'number within float32 range')
    if len(kpts) % width:
        return f'"{key}" has {len(kpts)} values, not a multiple of {width}'
    if num_keypoints is not None and len(kpts) != width * num_keypoints:
        return (f'"{key}" has {len(kpts) // width} keypoints, the data set '
                f'has {num_keypoints}')
    return ''


def with_ids(entries: list, kind: str,
             problems: List[str]) -> Iterator[Tuple[str, dict]]:
    """``(where, entry)`` of each object with an int64 ``id``; the other
    entries and repeated ids are added to ``problems``."""
    seen = set()
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not is_int(entry.get('id')):
            problems.append(f'{kind} entry {i}: must be an object with an '
                            'integer "id" (int64)')
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
                     f'{shown(img.get(k))}' for k in ('width', 'height')
                     if not (is_number(img.get(k), True) and img[k] > 0)]
        if 'crowdIndex' in img and not is_number(img['crowdIndex'], True):
            problems.append(f'{where}: "crowdIndex" must be a finite number, '
                            f'got {shown(img["crowdIndex"])}')
    return ids, problems


def category_problems(data: dict) -> Tuple[Optional[set], List[str]]:
    """Category ids of a COCO-style file (``None`` without a
    ``categories`` list) and the rules its categories break."""
    if 'categories' not in data:
        return None, []
    if not isinstance(data['categories'], list):
        return None, ['"categories" must be a list, got '
                      f'{type(data["categories"]).__name__}']
    problems: List[str] = []
    entries = with_ids(data['categories'], 'category', problems)
    ids = {category['id'] for _, category in entries}
    return ids, problems


def annotation_problems(ann: dict, image_ids: set,
                        category_ids: Optional[set],
                        num_keypoints: Optional[int]) -> List[str]:
    """The rules one COCO-style annotation breaks (see
    :func:`check_coco_annotations`)."""
    found = []
    if ann.get('image_id') not in image_ids:
        found.append(f'"image_id" {shown(ann.get("image_id"))} is not in '
                     '"images"')
    category = ann.get('category_id')
    if 'category_id' not in ann:
        found.append('has no "category_id"')
    elif not is_int(category):
        found.append('"category_id" must be an integer (int64), got '
                     f'{shown(category)}')
    elif category_ids is not None and category not in category_ids:
        found.append(f'"category_id" {category} is not in "categories"')
    found += [
        keypoint_problem(ann['keypoints'], num_keypoints, 3)
        if 'keypoints' in ann else 'has no "keypoints"',
        '' if numbers(ann.get('bbox'), 4) else 'has no "bbox"'
        if 'bbox' not in ann else '"bbox" must be 4 finite numbers '
        f'(x, y, w, h) within float32 range, got {shown(ann["bbox"])}'
    ]
    if 'num_keypoints' in ann and not (is_int(ann['num_keypoints'])
                                       and ann['num_keypoints'] >= 0):
        found.append('"num_keypoints" must be an integer >= 0, got '
                     f'{shown(ann["num_keypoints"])}')
    if 'iscrowd' in ann and ann['iscrowd'] not in (0, 1):
        found.append('"iscrowd" must be 0 or 1, got '
                     f'{shown(ann["iscrowd"])}')
    if 'area' in ann and not (is_number(ann['area'], True)
                              and ann['area'] >= 0):
        found.append('"area" must be a finite number >= 0, got '
                     f'{shown(ann["area"])}')
    return [p for p in found if p]


def coco_problems(data: Any, path: str, num_keypoints: Optional[int],
                  need_annotations: bool = True) -> List[str]:
    """Every rule of :func:`check_coco_annotations` that ``data`` breaks
    (a broken top level raises at once)."""
    image_ids, problems = image_problems(data, path)
    category_ids, found = category_problems(data)
    problems += found
    anns = data.get('annotations')
    if anns is None and not need_annotations:
        return problems
    if not isinstance(anns, list):
        refuse(path, problems + ['has no "annotations" list'])
    if not anns and need_annotations:
        problems.append('the "annotations" list is empty')
    for where, ann in with_ids(anns, 'annotation', problems):
        problems += [
            f'{where}: {p}' for p in annotation_problems(
                ann, image_ids, category_ids, num_keypoints)
        ]
    return problems


def check_coco_images(data: Any, path: str) -> None:
    """Check the ``images`` of a COCO-style file (the image rules of
    :func:`check_coco_annotations`)."""
    refuse(path, image_problems(data, path)[1])


def check_coco_annotations(data: Any, path: str,
                           num_keypoints: Optional[int],
                           need_annotations: bool = True) -> None:
    """Check a COCO-style keypoint annotation file (COCO, CrowdPose).

    Rules: a JSON object; ``images`` a list of objects with a unique int64
    ``id``, a string ``file_name``, positive ``width`` and ``height`` and,
    if present, a finite ``crowdIndex``; ``categories``, if present, a list
    of objects with a unique int64 ``id``; ``annotations`` (required unless
    ``need_annotations`` is false, e.g. when detections replace them) a
    non-empty list of objects with a unique int64 ``id``, an ``image_id``
    listed in ``images``, an int64 ``category_id`` (listed in
    ``categories`` if there are any), ``keypoints`` of ``num_keypoints`` ×
    3 finite numbers (``None``: any count), a ``bbox`` of 4 finite numbers
    and, if present, an integer ``num_keypoints`` >= 0, ``iscrowd`` 0 or 1
    and a finite ``area`` >= 0. Numbers are finite in float32. A
    :class:`DataFileError` names the file, the image or annotation id and
    the rule of every problem found (the first 10 shown).
    """
    refuse(path, coco_problems(data, path, num_keypoints, need_annotations))


def check_coco_evaluation_file(data: Any, path: str, use_area: bool = True,
                               iou_type: str = 'keypoints') -> None:
    """Check the annotation file of a COCO keypoint evaluation: the rules
    of :func:`check_coco_annotations` (any keypoint count) and the fields
    COCOeval reads: every annotation's ``iscrowd``, its ``area`` with
    ``use_area``, its ``num_keypoints`` and every image's ``crowdIndex``
    with ``iou_type='keypoints_crowd'`` (CrowdPose); and a non-empty
    ``categories`` list (COCOeval evaluates the listed categories: without
    one every AP is -1)."""
    problems = coco_problems(data, path, None)
    if not data.get('categories'):
        problems.append('has no "categories" list (COCO evaluation runs '
                        'over the listed categories: without one every AP '
                        'is -1)')
    crowd = iou_type == 'keypoints_crowd'
    needs = dict(
        image=['crowdIndex'] if crowd else [],
        annotation=['iscrowd'] + ['area'] * use_area +
        ['num_keypoints'] * crowd)
    for kind, keys in needs.items():
        for entry in data[f'{kind}s']:
            # entries without an integer id are listed already
            if not isinstance(entry, dict) or not is_int(entry.get('id')):
                continue
            missing = [k for k in keys if k not in entry]
            if missing:
                problems.append(f'{kind} id {entry["id"]}: has no '
                                f'"{missing[0]}" (COCO evaluation reads it)')
    refuse(path, problems)


def image_id(name: str) -> Optional[int]:
    """The image id mmpose's MPII set reads from an image name (its part
    before the first ``.`` as an integer), or ``None``."""
    try:
        return int(name.split('.')[0])
    except ValueError:
        return None


def check_mpii_annotations(data: Any, path: str, num_keypoints: int,
                           need_joints: bool = True) -> None:
    """Check an annotation file in mmpose's MPII layout.

    Rules: a non-empty JSON list of objects (annotation id = list index, as
    mmpose numbers them) with a string ``image`` whose name up to the first
    ``.`` is an int64 (mmpose's image id), a ``center`` of 2 finite
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
        elif not is_int(image_id(ann['image'])):
            problems.append(f'{where}: "image" {shown(ann["image"])} must be '
                            'named by an integer id up to its first "." '
                            '(mmpose reads the image id from it)')
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
