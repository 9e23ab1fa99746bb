# Copyright (c) simdr_ext contributors. All rights reserved.
"""The batched top-down loop shared by the PyTorch and ONNX back ends.

Images are read once each; every box of an image is warped into a slot of
one reusable crop buffer of ``batch_size`` slots; a full buffer goes through
the back end's ``infer`` in one call; keypoints come back in crop pixels and
are projected to the image with one vectorised expression per image.
"""
from dataclasses import dataclass
from typing import Callable, Dict, List, Sequence, Tuple

import cv2
import numpy as np

from .crops import (box_center_scale, check_boxes, normalise_inputs,
                    read_image, to_image, warp_matrices)

#: ``infer(crops)`` with crops uint8 (B, h, w, 3) BGR returns a dict with
#: ``keypoints`` (B, K, 2) in crop pixels, ``keypoint_scores`` (B, K) and,
#: on request, ``simcc_x`` (B, K, Wx) and ``simcc_y`` (B, K, Wy).
InferFn = Callable[[np.ndarray], Dict[str, np.ndarray]]


@dataclass
class CropGeometry:
    """How boxes become crops.

    Attributes:
        input_size (tuple): Model input ``(w, h)``.
        padding (float): Box enlargement of ``GetBBoxCenterScale``.
        use_udp (bool): ``TopdownAffine(use_udp=True)``.
    """
    input_size: Tuple[int, int]
    padding: float = 1.25
    use_udp: bool = False


def run_topdown(images, boxes, geometry: CropGeometry, batch_size: int,
                infer: InferFn, num_keypoints: int) -> List[Dict]:
    """Crop, infer in batches and project back.

    Args:
        images (str | np.ndarray | Sequence): One image (path or BGR array
            (H, W, 3)) or a list of them.
        boxes: For one image an (M, 4) xyxy array; for a list, a list with
            one (M, 4) array (or ``None``/empty: no person) per image.
        geometry (CropGeometry): Crop geometry.
        batch_size (int): Crops per ``infer`` call (the last may be
            smaller).
        infer (callable): The back end, see :data:`InferFn`.
        num_keypoints (int): K, for images without boxes.

    Returns:
        list[dict]: Per image ``bboxes`` (M, 4), ``keypoints`` (M, K, 2)
        and ``keypoint_scores`` (M, K) in image pixels, plus whatever else
        ``infer`` returned, (M, ...) per image. M = 0 gives empty arrays.
    """
    if int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f'batch_size must be a positive integer, got '
                         f'{batch_size!r}')
    batch_size = int(batch_size)
    images, boxes = normalise_inputs(images, boxes)
    w, h = (int(v) for v in geometry.input_size)
    buffer = np.empty((batch_size, h, w, 3), np.uint8)
    owners: List[Tuple[int, int]] = []
    results: List[Dict] = []
    outputs: List[Dict[str, np.ndarray]] = []
    per_crop: Dict[str, Tuple[int, ...]] = {}

    def flush() -> None:
        if not owners:
            return
        out = infer(buffer[:len(owners)])
        check_outputs(out, len(owners), num_keypoints, per_crop)
        for row, (i, j) in enumerate(owners):
            store = outputs[i]
            for key, value in out.items():
                if key not in store:
                    store[key] = np.empty(
                        (len(results[i]['bboxes']), ) + value.shape[1:],
                        value.dtype)
                store[key][j] = value[row]
        owners.clear()

    for i, (image, bxs) in enumerate(zip(images, boxes)):
        bxs = check_boxes(bxs, f'boxes of image {i}')
        results.append(dict(bboxes=bxs))
        outputs.append({})
        if len(bxs) == 0:
            continue
        img = read_image(image, f'image {i}')
        if img.dtype != np.uint8:
            raise ValueError(f'image {i} must be uint8 (BGR 0-255), got '
                             f'{img.dtype}')
        with np.errstate(over='ignore', invalid='ignore'):
            center, scale = box_center_scale(bxs, (w, h), geometry.padding)
        finite = np.isfinite(center).all(1) & np.isfinite(scale).all(1) & (
            scale > 0).all(1)
        if not finite.all():
            j = int(np.flatnonzero(~finite)[0])
            raise ValueError(
                f'boxes of image {i}: box {j} {bxs[j].tolist()} gives the '
                f'crop centre {center[j].tolist()} and size '
                f'{scale[j].tolist()}: not finite in float32 (padding '
                f'{geometry.padding})')
        results[i].update(center=center, scale=scale)
        for j, mat in enumerate(
                warp_matrices(center, scale, (w, h), geometry.use_udp)):
            cv2.warpAffine(img, mat, (w, h), dst=buffer[len(owners)],
                           flags=cv2.INTER_LINEAR)
            owners.append((i, j))
            if len(owners) == batch_size:
                flush()
        del img
    flush()

    for res, out in zip(results, outputs):
        m = len(res['bboxes'])
        center = res.pop('center', None)
        scale = res.pop('scale', None)
        if m == 0:
            res['keypoints'] = np.zeros((0, num_keypoints, 2), np.float32)
            res['keypoint_scores'] = np.zeros((0, num_keypoints),
                                              np.float32)
            continue
        res.update(out)
        res['keypoints'] = to_image(out['keypoints'], center, scale,
                                    (w, h)).astype(np.float32)
    return results


def check_outputs(out: Dict[str, np.ndarray], batch: int,
                  num_keypoints: int,
                  per_crop: Dict[str, Tuple[int, ...]]) -> None:
    """Check a back end's answer for ``batch`` crops before it is stored.

    Args:
        out (dict): What ``infer`` returned.
        batch (int): B, the crops given.
        num_keypoints (int): K.
        per_crop (dict): ``key -> shape[1:]`` of the earlier answers, which
            every later answer must keep; updated.

    Raises:
        ValueError: ``keypoints`` is not (B, K, 2) or ``keypoint_scores``
            not (B, K), or another output is not (B, ...) or changes its
            per-crop shape.
    """
    if not isinstance(out, dict):
        raise ValueError(f'the back end returned {type(out).__name__}, '
                         'expected a dict of arrays')
    for key in ('keypoints', 'keypoint_scores'):
        if key not in out:
            raise ValueError(f'the back end returned no {key} (got '
                             f'{sorted(out)})')
    want = dict(keypoints=(batch, num_keypoints, 2),
                keypoint_scores=(batch, num_keypoints))
    for key, value in out.items():
        shape = getattr(value, 'shape', None)
        if not isinstance(value, np.ndarray):
            raise ValueError(f'the back end returned {key} as '
                             f'{type(value).__name__}, expected an array')
        expected = want.get(key)
        if expected is not None and shape != expected:
            raise ValueError(
                f'the back end returned {key} of shape {shape} for '
                f'{batch} crops, expected {expected} ({num_keypoints} '
                'keypoints)')
        if not shape or shape[0] != batch:
            raise ValueError(f'the back end returned {key} of shape {shape} '
                             f'for {batch} crops, expected ({batch}, ...)')
        if per_crop.setdefault(key, shape[1:]) != shape[1:]:
            raise ValueError(
                f'the back end returned {key} of shape {shape}, after '
                f'(B, {", ".join(map(str, per_crop[key]))}) before')


def stack_results(results: Sequence[Dict], key: str) -> np.ndarray:
    """All instances' ``key`` of :func:`run_topdown` results, stacked."""
    return np.concatenate([r[key] for r in results])


__all__ = [
    'CropGeometry', 'InferFn', 'run_topdown', 'check_outputs', 'stack_results'
]
