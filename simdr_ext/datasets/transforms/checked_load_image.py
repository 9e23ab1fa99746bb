# Copyright (c) simdr_ext contributors. All rights reserved.
import warnings
from typing import Optional

import mmcv
import numpy as np
from mmengine import fileio

from mmpose.datasets.transforms import LoadImage
from mmpose.registry import TRANSFORMS
from simdr_runtime.image_size import check_pixels
from simdr_runtime.image_size import max_image_pixels as pixel_budget
from ..data_files import DataFileError


def warn_whole_picture(results: Optional[dict]) -> Optional[dict]:
    """``results``, with a warning when its one person box is the whole
    picture ``[0, 0, w, h]``: what mmpose's ``inference_topdown`` uses when
    it is given no boxes, so that the pose of one person is estimated from
    the whole image, however many people it shows."""
    bbox = None if results is None else results.get('bbox')
    if bbox is not None and 'img_shape' in results:
        h, w = results['img_shape'][:2]
        box = np.asarray(bbox, np.float64).reshape(-1)
        if box.size == 4 and np.allclose(box, [0, 0, w, h]):
            warnings.warn(
                f'the person box of {results.get("img_path") or "the image"}'
                f' is the whole picture ({w}x{h}): mmpose\'s '
                'inference_topdown uses it when it is given no boxes. Pass '
                'person boxes, or use simdr_ext.apis.estimate_poses, which '
                'finds them with a detector', stacklevel=2)
    return results


@TRANSFORMS.register_module()
class CheckedLoadImage(LoadImage):
    """mmpose's ``LoadImage`` that checks an image file before and after
    decoding it.

    Before: the size its header claims must be readable and within the
    pixel budget (:func:`simdr_runtime.image_size.check_pixels`), so a
    small file claiming 30000 x 30000 pixels is refused before gigabytes
    are allocated for it. After: the decoded image must have the size the
    annotation file gives (``ann_img_shape`` of the data info, which the
    checked data sets set; not checked without it). Every error names the
    file. An image given as an array (``results['img']``) is taken as
    ``LoadImage`` takes it.

    Required Keys:

        - img_path
        - img (optional)
        - ann_img_shape (optional): ``(height, width)`` of the annotation
          file.

    Modified Keys:

        - img
        - img_shape
        - ori_shape

    Args:
        max_image_pixels (int, optional): The pixel budget; ``None``:
            :func:`simdr_runtime.image_size.max_image_pixels` when an image
            is read (the environment variable ``SIMDR_MAX_IMAGE_PIXELS``,
            else ``2 ** 27``). Defaults to ``None``.
        **kwargs: The arguments of ``LoadImage`` (``to_float32``,
            ``color_type``, ``imdecode_backend``, ``backend_args``,
            ``ignore_empty``, ...).
    """

    def __init__(self, max_image_pixels: Optional[int] = None, **kwargs):
        super().__init__(**kwargs)
        if max_image_pixels is not None:
            max_image_pixels = pixel_budget(max_image_pixels)
        self.max_image_pixels = max_image_pixels

    def _read_bytes(self, name: str) -> bytes:
        if self.file_client_args is not None:
            client = fileio.FileClient.infer_client(self.file_client_args,
                                                    name)
            return client.get(name)
        return fileio.get(name, backend_args=self.backend_args)

    def transform(self, results: dict) -> Optional[dict]:
        """Read, check and decode ``results['img_path']``.

        Args:
            results (dict): The data info.

        Returns:
            dict | None: ``results`` with the BGR image (H, W, 3) (or as
            ``color_type`` gives it) and its shapes; ``None`` for a file
            that cannot be read with ``ignore_empty``.

        Raises:
            ImageSizeError: The header's size is unreadable or over the
                budget.
            ValueError: The file cannot be decoded.
            DataFileError: The decoded size is not the annotation file's.
        """
        if 'img' in results:
            return warn_whole_picture(super().transform(results))
        name = results['img_path']
        try:
            data = self._read_bytes(name)
        except Exception:
            if self.ignore_empty:
                return None
            raise
        check_pixels(data, name, self.max_image_pixels)
        try:
            img = mmcv.imfrombytes(
                data, flag=self.color_type, backend=self.imdecode_backend)
        except Exception as err:
            raise ValueError(f'cannot read image {name}: {err}') from err
        if img is None or img.size == 0:
            raise ValueError(f'cannot read image {name}: not an image the '
                             f'{self.imdecode_backend} decoder can read '
                             '(corrupt or unknown format)')
        expected = results.get('ann_img_shape')
        if expected is not None and tuple(img.shape[:2]) != tuple(expected):
            raise DataFileError(
                f'image {name} (image id {results.get("img_id")}): the '
                f'annotation file gives {expected[1]:g}x{expected[0]:g} '
                f'(width x height), the image decodes to {img.shape[1]}x'
                f'{img.shape[0]}')
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return warn_whole_picture(results)

    def __repr__(self) -> str:
        return (f'{super().__repr__()[:-1]}, '
                f'max_image_pixels={self.max_image_pixels})')
