# Copyright (c) simdr_ext contributors. All rights reserved.
"""Poses drawn on an image with OpenCV: boxes with their index, skeleton
links and keypoints above a score threshold."""
from typing import Dict, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from .crops import check_boxes, read_image

#: COCO's 17-keypoint skeleton, 0-based (mmpose's
#: ``configs/_base_/datasets/coco.py``, ``skeleton_info``, in order).
COCO_SKELETON = ((15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11),
                 (6, 12), (5, 6), (5, 7), (6, 8), (7, 9), (8, 10), (1, 2),
                 (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6))

Color = Tuple[int, int, int]
#: Largest coordinate handed to OpenCV (pixels beyond the image).
_MAX_COORD = 1 << 20


def check_skeleton(links, num_keypoints: int,
                   name: str = 'skeleton') -> Tuple[Tuple[int, int], ...]:
    """Skeleton links as pairs of keypoint indices below K.

    Args:
        links (Sequence): Pairs ``(i, j)``.
        num_keypoints (int): K.
        name (str): How to call the links in an error.

    Returns:
        tuple: The links, pairs of ints.

    Raises:
        ValueError: Naming ``name`` and the link that is not a pair of
            integers in ``[0, K)``.
    """
    out = []
    for n, link in enumerate(links):
        ok = isinstance(link, (list, tuple, np.ndarray)) and len(link) == 2
        if ok:
            ok = all(
                isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                and 0 <= v < num_keypoints for v in link)
        if not ok:
            raise ValueError(
                f'{name}: link {n} {link!r} must be two keypoint indices '
                f'from 0 to {num_keypoints - 1} ({num_keypoints} keypoints)')
        out.append((int(link[0]), int(link[1])))
    return tuple(out)


def _pose(poses: Union[Dict, Sequence[Dict]]) -> Dict:
    if isinstance(poses, dict):
        return poses
    if isinstance(poses, (list, tuple)) and len(poses) == 1 and isinstance(
            poses[0], dict):
        return poses[0]
    got = type(poses).__name__
    if isinstance(poses, (list, tuple)):
        got += f' of length {len(poses)}'
    raise ValueError(
        'poses must be the result for one image: a dict with bboxes, '
        f'keypoints and keypoint_scores, or a list holding one (got {got})')


def _point(xy: np.ndarray) -> Tuple[int, int]:
    x, y = np.clip(np.rint(xy), -_MAX_COORD, _MAX_COORD)
    return int(x), int(y)


def draw(image,
         poses: Union[Dict, Sequence[Dict]],
         kpt_thr: float = 0.3,
         skeleton: Optional[Sequence[Tuple[int, int]]] = None,
         draw_boxes: bool = True,
         radius: Optional[int] = None,
         thickness: Optional[int] = None,
         box_color: Color = (0, 255, 0),
         link_color: Color = (255, 128, 0),
         point_color: Color = (0, 0, 255)) -> np.ndarray:
    """Draw the poses of one image on a copy of it.

    Args:
        image (str | np.ndarray): A file or a BGR uint8 array (H, W, 3)
            (grey (H, W) is drawn in colour); it is not modified.
        poses (dict | list[dict]): One image's result of
            :class:`OnnxPoseRuntime` (a list of one is accepted):
            ``keypoints`` (M, K, 2), ``keypoint_scores`` (M, K) and
            ``bboxes`` (M, 4), optionally ``bbox_scores`` (M, ).
        kpt_thr (float): Keypoints scoring above this are drawn, and the
            links between two of them. Defaults to 0.3.
        skeleton (Sequence[tuple], optional): Links ``(i, j)``, 0-based.
            ``None``: COCO's (:data:`COCO_SKELETON`) when K is 17, else
            keypoints only. :attr:`OnnxPoseRuntime.skeleton` gives the
            exported model's.
        draw_boxes (bool): Draw the boxes, with the person index (and the
            box score when there is one) at the top-left corner. Defaults
            to ``True``.
        radius (int, optional): Keypoint radius. Defaults to 1/120 of
            the image's shorter side, at least 3.
        thickness (int, optional): Line thickness. Defaults to half the
            radius, at least 2.
        box_color, link_color, point_color (tuple): BGR colours.

    Returns:
        np.ndarray: The drawn image, uint8 (H, W, 3).
    """
    canvas = np.array(read_image(image), copy=True)
    if canvas.dtype != np.uint8:
        raise ValueError(f'draw needs a uint8 image (BGR 0-255), got '
                         f'{canvas.dtype}')
    pose = _pose(poses)
    missing = [k for k in ('keypoints', 'keypoint_scores') if k not in pose]
    if missing:
        raise ValueError(f'poses lacks {missing} (got keys {sorted(pose)})')
    kpts = np.asarray(pose['keypoints'], np.float64)
    scores = np.asarray(pose['keypoint_scores'], np.float64)
    if kpts.ndim != 3 or kpts.shape[2] != 2 or scores.shape != kpts.shape[:2]:
        raise ValueError(
            'poses: keypoints must be (M, K, 2) and keypoint_scores (M, K), '
            f'got {kpts.shape} and {scores.shape}')
    m, k = kpts.shape[:2]
    boxes = check_boxes(pose.get('bboxes'), 'poses: bboxes')
    if draw_boxes and len(boxes) not in (0, m):
        raise ValueError(f'poses: {len(boxes)} bboxes for {m} poses')
    box_scores = pose.get('bbox_scores')
    if box_scores is not None:
        box_scores = np.asarray(box_scores, np.float64).reshape(-1)
        if box_scores.shape != (len(boxes), ):
            box_scores = None
    if skeleton is None:
        skeleton = COCO_SKELETON if k == 17 else ()
    links = check_skeleton(skeleton, k)
    h, w = canvas.shape[:2]
    if radius is None:
        radius = max(3, round(min(h, w) / 120))
    if thickness is None:
        thickness = max(2, round(radius / 2))
    radius, thickness = int(radius), int(thickness)
    font = max(0.4, min(h, w) / 600)

    if draw_boxes:
        for i, box in enumerate(boxes):
            p1, p2 = _point(box[:2]), _point(box[2:])
            cv2.rectangle(canvas, p1, p2, box_color, thickness, cv2.LINE_AA)
            label = str(i)
            if box_scores is not None:
                label += f' {box_scores[i]:.2f}'
            (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX,
                                             font, thickness)
            x = min(max(p1[0], 0), max(w - tw, 0))
            y = min(max(p1[1], th + base), h - 1)
            cv2.rectangle(canvas, (x, y - th - base), (x + tw, y),
                          box_color, -1)
            cv2.putText(canvas, label, (x, y - base),
                        cv2.FONT_HERSHEY_SIMPLEX, font, (0, 0, 0), thickness,
                        cv2.LINE_AA)
    visible = np.isfinite(kpts).all(2) & (scores > kpt_thr)
    for i in range(m):
        for a, b in links:
            if visible[i, a] and visible[i, b]:
                cv2.line(canvas, _point(kpts[i, a]), _point(kpts[i, b]),
                         link_color, thickness, cv2.LINE_AA)
        for j in np.flatnonzero(visible[i]):
            cv2.circle(canvas, _point(kpts[i, j]), radius, point_color, -1,
                       cv2.LINE_AA)
    return canvas


__all__ = ['draw', 'COCO_SKELETON', 'check_skeleton']
