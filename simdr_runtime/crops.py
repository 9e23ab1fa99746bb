# Copyright (c) simdr_ext contributors. All rights reserved.
"""Boxes → crops → image coordinates, with numpy and OpenCV only.

The geometry is mmpose's top-down test pipeline, written for many boxes at
once: ``GetBBoxCenterScale`` (centre, size x padding), ``TopdownAffine``
(aspect ratio fixed to the input's, warp with ``get_warp_matrix`` or, with
``use_udp``, ``get_udp_warp_matrix``, bilinear ``cv2.warpAffine``) and
``TopdownPoseEstimator.add_pred_to_datasample`` (back-projection). The float32
arithmetic follows mmpose's order of operations so that the crops are the
same bytes as mmpose's (checked in ``tests/test_runtime``).
"""
import os
import os.path as osp
from typing import List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from .image_size import decode_image

ImageLike = Union[str, np.ndarray]


def read_image(image: ImageLike,
               name: str = 'image',
               max_pixels: Optional[int] = None) -> np.ndarray:
    """A BGR uint8 image (H, W, 3) from a path or an array.

    A file is read as bytes and decoded by :func:`decode_image`: its size
    is read from its header and checked against the pixel budget
    (:func:`max_image_pixels`) before decoding; errors name the file.

    Args:
        image (str | np.ndarray): A file, or an array (H, W, 3) BGR or
            (H, W) grey.
        name (str): How to call the array in an error. Defaults to
            ``'image'``.
        max_pixels (int, optional): The pixel budget for a file; ``None``:
            :func:`max_image_pixels`.

    Returns:
        np.ndarray: The image, shape (H, W, 3).
    """
    if isinstance(image, (str, os.PathLike)):
        path = os.fspath(image)
        if not osp.isfile(path):
            raise FileNotFoundError(f'cannot read image {path}: no such file')
        if osp.getsize(path) == 0:
            raise ValueError(f'cannot read image {path}: the file is empty')
        with open(path, 'rb') as f:
            data = f.read()
        if not data:
            raise ValueError(f'cannot read image {path}: the file is empty')
        return decode_image(data, path, max_pixels)
    img = np.asarray(image)
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    if img.ndim != 3 or img.shape[2] != 3 or img.size == 0:
        raise ValueError(f'{name} must be a file name or an array of shape '
                         f'(H, W, 3) (BGR), got shape {img.shape}')
    return img


#: Largest box coordinate magnitude accepted: 2 ** 24 pixels, beyond which
#: float32 (the crop arithmetic's type) no longer holds whole pixels.
MAX_BOX_COORD = float(2**24)


def check_boxes(boxes, name: str = 'boxes') -> np.ndarray:
    """Boxes as float32 (M, 4) ``x1, y1, x2, y2``; ``None`` → (0, 4).

    Args:
        boxes (array-like | None): Boxes (M, 4) or (M, >4) (extra columns,
            such as a score, are dropped), or one box (4, ).
        name (str): How to call the boxes in an error.

    Returns:
        np.ndarray: Float32 boxes in shape (M, 4).

    Raises:
        ValueError: Naming ``name`` (and the box index) for a wrong shape,
            values that are not numbers, non-finite values, coordinates
            beyond :data:`MAX_BOX_COORD` or a box with x2 <= x1 or
            y2 <= y1.
    """
    if boxes is None:
        return np.zeros((0, 4), np.float32)
    try:
        arr = np.asarray(boxes, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f'{name} must be numbers (xyxy boxes of shape '
                         f'(M, 4)), got {type(boxes).__name__}') from None
    if arr.size == 0:
        return np.zeros((0, 4), np.float32)
    if arr.ndim == 1 and arr.shape[0] == 4:
        arr = arr[None]
    if arr.ndim != 2 or arr.shape[1] < 4:
        raise ValueError(f'{name} must be xyxy boxes of shape (M, 4), got '
                         f'shape {np.shape(boxes)}')
    arr = arr[:, :4]
    finite = np.isfinite(arr).all(1)
    if not finite.all():
        i = int(np.flatnonzero(~finite)[0])
        raise ValueError(f'{name}: box {i} {arr[i].tolist()} has non-finite '
                         'coordinates')
    huge = (np.abs(arr) > MAX_BOX_COORD).any(1)
    if huge.any():
        i = int(np.flatnonzero(huge)[0])
        raise ValueError(f'{name}: box {i} {arr[i].tolist()} has a '
                         f'coordinate beyond +-{MAX_BOX_COORD:.0f} pixels '
                         '(2**24, where float32 stops holding whole pixels)')
    arr = arr.astype(np.float32)
    bad = (arr[:, 2] <= arr[:, 0]) | (arr[:, 3] <= arr[:, 1])
    if bad.any():
        raise ValueError(f'{name}: box {int(np.flatnonzero(bad)[0])} '
                         f'{arr[bad][0].tolist()} has no area (xyxy boxes '
                         'need x2 > x1 and y2 > y1)')
    return np.ascontiguousarray(arr)


def box_center_scale(boxes: np.ndarray, input_size: Tuple[int, int],
                     padding: float = 1.25) -> Tuple[np.ndarray, np.ndarray]:
    """Centres and aspect-fixed scales of xyxy boxes.

    mmpose's ``bbox_xyxy2cs`` then ``TopdownAffine._fix_aspect_ratio``.

    Args:
        boxes (np.ndarray): Float32 boxes in shape (M, 4).
        input_size (tuple): Model input ``(w, h)``.
        padding (float): Box enlargement. Defaults to 1.25.

    Returns:
        tuple: centres (M, 2) and scales (M, 2), float32.
    """
    x1, y1, x2, y2 = np.hsplit(boxes, [1, 2, 3])
    center = np.hstack([x1 + x2, y1 + y2]) * 0.5
    scale = np.hstack([x2 - x1, y2 - y1]) * padding
    aspect = input_size[0] / input_size[1]
    w, h = np.hsplit(scale, [1])
    scale = np.where(w > h * aspect, np.hstack([w, w / aspect]),
                     np.hstack([h * aspect, h]))
    return center, scale


def warp_matrices(center: np.ndarray, scale: np.ndarray,
                  input_size: Tuple[int, int],
                  use_udp: bool = False) -> np.ndarray:
    """Affine maps image → crop, one per box, no rotation.

    Without UDP the three point pairs of mmpose's ``get_warp_matrix`` are
    built for all boxes with numpy and solved by ``cv2.getAffineTransform``
    (the same solver, so the same float64 matrix); with UDP the closed form
    of ``get_udp_warp_matrix``.

    Args:
        center (np.ndarray): Centres (M, 2).
        scale (np.ndarray): Scales (M, 2).
        input_size (tuple): ``(w, h)``.
        use_udp (bool): Unbiased data processing. Defaults to ``False``.

    Returns:
        np.ndarray: Matrices in shape (M, 2, 3).
    """
    m = len(center)
    dst_w, dst_h = input_size
    if use_udp:
        # mmpose computes these in float64 (Python scalars times numpy
        # float32 scalars) and stores float32
        mats = np.zeros((m, 2, 3), np.float32)
        scale64 = scale.astype(np.float64)
        size = (center * 2).astype(np.float64)
        sx = (dst_w - 1) / scale64[:, 0]
        sy = (dst_h - 1) / scale64[:, 1]
        mats[:, 0, 0] = sx
        mats[:, 0, 2] = sx * (-0.5 * size[:, 0] + 0.5 * scale64[:, 0])
        mats[:, 1, 1] = sy
        mats[:, 1, 2] = sy * (-0.5 * size[:, 1] + 0.5 * scale64[:, 1])
        return mats
    src = np.zeros((m, 3, 2), np.float32)
    src[:, 0] = center
    # mmpose adds a float64 direction to the float32 centre
    src[:, 1, 0] = center[:, 0].astype(np.float64) + (
        scale[:, 0].astype(np.float64) * -0.5)
    src[:, 1, 1] = center[:, 1]
    direction = src[:, 0] - src[:, 1]
    src[:, 2, 0] = src[:, 1, 0] - direction[:, 1]
    src[:, 2, 1] = src[:, 1, 1] + direction[:, 0]
    dst = np.zeros((3, 2), np.float32)
    dst[0] = [dst_w * 0.5, dst_h * 0.5]
    dst[1] = np.array([dst_w * 0.5, dst_h * 0.5]) + [dst_w * -0.5, 0.]
    direction = dst[0] - dst[1]
    dst[2] = dst[1] + np.r_[-direction[1], direction[0]]
    return np.stack([cv2.getAffineTransform(s, dst) for s in src])


def crop_boxes(img: np.ndarray, mats: np.ndarray,
               input_size: Tuple[int, int],
               out: np.ndarray = None) -> np.ndarray:
    """Warp one image into its crops.

    Args:
        img (np.ndarray): BGR image (H, W, 3).
        mats (np.ndarray): Matrices (M, 2, 3).
        input_size (tuple): ``(w, h)``.
        out (np.ndarray, optional): Buffer (M, h, w, 3) to fill.

    Returns:
        np.ndarray: Crops (M, h, w, 3), the image's dtype.
    """
    w, h = int(input_size[0]), int(input_size[1])
    if out is None:
        out = np.empty((len(mats), h, w, 3), img.dtype)
    for i, mat in enumerate(mats):
        cv2.warpAffine(img, mat, (w, h), dst=out[i], flags=cv2.INTER_LINEAR)
    return out


def to_image(keypoints: np.ndarray, center: np.ndarray, scale: np.ndarray,
             input_size: Tuple[int, int]) -> np.ndarray:
    """Crop pixels → image pixels (mmpose's ``add_pred_to_datasample``).

    Args:
        keypoints (np.ndarray): Keypoints (M, K, 2) in crop pixels.
        center (np.ndarray): Centres (M, 2).
        scale (np.ndarray): Scales (M, 2).
        input_size (tuple): ``(w, h)``.

    Returns:
        np.ndarray: Keypoints (M, K, 2) in image pixels.
    """
    size = np.asarray(input_size, dtype=np.float64)
    center = center[:, None]
    scale = scale[:, None]
    return keypoints / size * scale + center - 0.5 * scale


def normalise_inputs(images: Union[ImageLike, Sequence[ImageLike]],
                     boxes) -> Tuple[List[ImageLike], List]:
    """One image or a list, and their boxes, as two lists of one length.

    ``boxes`` is one (M, 4) array for a single image, or a list with one
    entry (array, list or ``None``) per image.
    """
    single = isinstance(images, (str, os.PathLike)) or (
        isinstance(images, np.ndarray) and images.ndim in (2, 3))
    if single:
        images = [images]
        boxes = [boxes]
    else:
        images = list(images)
        if boxes is None:
            boxes = [None] * len(images)
        boxes = list(boxes)
    if len(boxes) != len(images):
        raise ValueError(f'got {len(images)} images but {len(boxes)} box '
                         'arrays: give one (M, 4) array per image')
    return images, boxes


__all__ = [
    'MAX_BOX_COORD', 'read_image', 'check_boxes', 'box_center_scale',
    'warp_matrices', 'crop_boxes', 'to_image', 'normalise_inputs'
]
