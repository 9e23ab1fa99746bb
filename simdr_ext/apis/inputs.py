# Copyright (c) simdr_ext contributors. All rights reserved.
"""Pictures for the one-call API: an image file, an array, a folder of
images, a video file, or a list of image files and arrays.

Image files are read as bytes and decoded within the pixel budget
(:func:`simdr_runtime.read_image`); a video's frame size is checked against
the same budget before its first frame is decoded.
"""
import os
import os.path as osp
from typing import Iterator, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from simdr_runtime.crops import read_image
from simdr_runtime.image_size import ImageSizeError, max_image_pixels

#: File suffixes read as images (a folder lists these, sorted by name).
IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff')
#: File suffixes read as videos, frame by frame.
VIDEO_SUFFIXES = ('.mp4', '.avi', '.mov', '.mkv', '.webm')

#: One picture: ``(name, frame index or None, BGR image (H, W, 3))``; the
#: name is the image file, ``'array <i>'`` or the video file.
Picture = Tuple[str, Optional[int], np.ndarray]
Source = Union[str, os.PathLike, np.ndarray, Sequence]


def is_video(path: str) -> bool:
    """Whether ``path`` names a video file (by its suffix)."""
    return osp.splitext(path)[1].lower() in VIDEO_SUFFIXES


def list_pictures(source: Source) -> Tuple[List, bool]:
    """The pictures ``source`` stands for, and whether it is a video.

    Args:
        source (str | np.ndarray | Sequence): An image file, a BGR array
            (H, W, 3), a folder (its image files, sorted by name), a video
            file, or a list of image files and arrays.

    Returns:
        tuple: ``(items, video)``: the image files and arrays in order
        (``[path]`` for a video) and whether ``source`` is a video.

    Raises:
        FileNotFoundError: A path that does not exist.
        ValueError: A folder without image files, a list holding a folder
            or a video, or an input of another type.
    """
    if isinstance(source, np.ndarray):
        return [source], False
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if osp.isdir(path):
            files = sorted(
                osp.join(path, n) for n in os.listdir(path)
                if osp.splitext(n)[1].lower() in IMAGE_SUFFIXES)
            if not files:
                raise ValueError(f'{path} has no image files '
                                 f'({", ".join(IMAGE_SUFFIXES)})')
            return files, False
        if not osp.exists(path):
            raise FileNotFoundError(f'{path}: no such file or folder')
        return [path], is_video(path)
    if isinstance(source, (list, tuple)):
        items = list(source)
        for i, item in enumerate(items):
            if isinstance(item, np.ndarray):
                continue
            if not isinstance(item, (str, os.PathLike)):
                raise ValueError(
                    f'input {i} must be an image file or a BGR array, got '
                    f'{type(item).__name__}')
            path = os.fspath(item)
            if osp.isdir(path) or is_video(path):
                raise ValueError(
                    f'input {i} ({path}) is a folder or a video: give it '
                    'alone, not in a list')
            items[i] = path
        return items, False
    raise ValueError('inputs must be an image file, a BGR array (H, W, 3), '
                     'a folder, a video file or a list of image files and '
                     f'arrays, got {type(source).__name__}')


def open_video(path: str, max_pixels: Optional[int] = None
               ) -> cv2.VideoCapture:
    """Open a video whose frames fit the pixel budget.

    Args:
        path (str): The video file.
        max_pixels (int, optional): The budget; ``None``:
            :func:`simdr_runtime.max_image_pixels`.

    Returns:
        cv2.VideoCapture: The open capture.

    Raises:
        ValueError: OpenCV cannot open it.
        ImageSizeError: Its frame size is unknown or over the budget.
    """
    budget = max_image_pixels(max_pixels)
    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        raise ValueError(f'cannot open video {path}: OpenCV cannot read it')
    width = cap.get(cv2.CAP_PROP_FRAME_WIDTH)
    height = cap.get(cv2.CAP_PROP_FRAME_HEIGHT)
    if not (np.isfinite(width) and np.isfinite(height) and width >= 1
            and height >= 1):
        cap.release()
        raise ImageSizeError(f'cannot read video {path}: its frame size is '
                             'unknown before decoding')
    if int(width) * int(height) > budget:
        cap.release()
        raise ImageSizeError(
            f'cannot read video {path}: its frames are {int(width)}x'
            f'{int(height)} pixels, over the budget of {budget}; to allow '
            'them, set the environment variable SIMDR_MAX_IMAGE_PIXELS')
    return cap


def iter_pictures(source: Source,
                  max_pixels: Optional[int] = None) -> Iterator[Picture]:
    """Yield every picture of ``source`` (see :func:`list_pictures`).

    Args:
        source (str | np.ndarray | Sequence): The input.
        max_pixels (int, optional): The pixel budget.

    Yields:
        tuple: ``(name, frame index or None, BGR image (H, W, 3))``.
    """
    items, video = list_pictures(source)
    if video:
        cap = open_video(items[0], max_pixels)
        budget = max_image_pixels(max_pixels)
        index = 0
        try:
            while True:
                ok, frame = cap.read()
                if not ok or frame is None:
                    break
                if frame.ndim != 3 or frame.shape[2] != 3 or \
                        frame.shape[0] * frame.shape[1] > budget:
                    raise ImageSizeError(
                        f'cannot read video {items[0]}: frame {index} has '
                        f'shape {frame.shape}, not a BGR frame within the '
                        f'budget of {budget} pixels')
                yield items[0], index, frame
                index += 1
        finally:
            cap.release()
        return
    for i, item in enumerate(items):
        if isinstance(item, np.ndarray):
            yield f'array {i}', None, read_image(item, f'input {i}')
        else:
            yield item, None, read_image(item, max_pixels=max_pixels)


__all__ = [
    'IMAGE_SUFFIXES', 'VIDEO_SUFFIXES', 'Picture', 'is_video',
    'list_pictures', 'open_video', 'iter_pictures'
]
