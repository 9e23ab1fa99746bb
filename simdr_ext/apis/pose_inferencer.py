# Copyright (c) simdr_ext contributors. All rights reserved.
"""From pictures to poses: person boxes, then a top-down model, in one
call (:func:`estimate_poses`) or with the models kept between calls
(:class:`PoseInferencer`)."""
import os
import warnings
from typing import Dict, Iterator, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.config import Config
from torch import nn

from simdr_runtime.crops import check_boxes
from .batched_inferencer import BatchedTopdownInferencer
from .inputs import Source, iter_pictures, list_pictures
from .person_detector import DetModel, PersonDetector

#: Pictures gathered before their crops go through the model together.
PICTURES_PER_CHUNK = 16


class PoseInferencer:
    """Keypoints of the people in images, folders and videos.

    Person boxes come from, in this order: the ``boxes`` given to the
    call; the detector ``det_model`` names (an mmdet config or model name
    with ``det_weights``, or a callable ``image -> (M, 4|5)`` boxes); by
    default mmpose's own default detector for the pose config's data set,
    chosen as ``MMPoseInferencer`` chooses it (its weights come from the
    torch hub cache, downloaded there when missing). ``det_model=
    'whole_image'`` takes each picture as one person (warned). The
    detector is built at the first call that needs it. The keypoints come
    from :class:`BatchedTopdownInferencer` (those of mmpose's
    ``inference_topdown`` for the same boxes).

    Args:
        model (str | Config | nn.Module): A top-down pose config (file or
            ``Config``), or a model from ``mmpose.apis.init_model``.
        checkpoint (str, optional): The pose weights (a file or a URL), read
            by :func:`simdr_ext.engine.load_checked_checkpoint`; ``None``
            with a config: random weights (warned). Ignored for a model.
        det_model (str | callable, optional): The person detector, see
            :class:`PersonDetector`. Defaults to ``None`` (mmpose's
            default).
        det_weights (str, optional): Checkpoint of an mmdet ``det_model``.
        det_cat_ids (int | Sequence[int], optional): mmdet labels taken as
            people; ``None``: the default detector's, else ``(0, )``.
        bbox_thr (float): Lowest detected box score kept. Defaults to 0.3.
        nms_thr (float, optional): Box NMS IoU threshold for detected boxes;
            ``None``: none. Defaults to 0.3 (mmpose's ``Pose2DInferencer``).
        device (str, optional): ``'cpu'``, ``'cuda'``, ...; ``None``: CUDA
            when present, else CPU.
        batch_size (int, optional): Crops per forward pass; ``None``: the
            device's default (see :class:`BatchedTopdownInferencer`).
            Defaults to ``None``.
        flip_test (bool, optional): ``None`` follows the config.
        precision (str): ``'fp32'``, ``'bf16'`` or ``'fp16'``, see
            :class:`BatchedTopdownInferencer`. Defaults to ``'fp32'``.

    Example::

        >>> from simdr_ext.apis import PoseInferencer
        >>> infer = PoseInferencer(CONFIG, CHECKPOINT, device='cpu')
        >>> for res in infer('video.mp4'):
        ...     res['frame_index'], res['keypoints'].shape  # (M, K, 2)
    """

    def __init__(self,
                 model: Union[str, Config, nn.Module],
                 checkpoint: Optional[str] = None,
                 det_model: DetModel = None,
                 det_weights: Optional[str] = None,
                 det_cat_ids: Union[None, int, Sequence[int]] = None,
                 bbox_thr: float = 0.3,
                 nms_thr: Optional[float] = 0.3,
                 device: Optional[str] = None,
                 batch_size: Optional[int] = None,
                 flip_test: Optional[bool] = None,
                 precision: str = 'fp32') -> None:
        if device is None:
            device = 'cuda' if torch.cuda.is_available() else 'cpu'
        self.device = device
        self.model = self._pose_model(model, checkpoint, device)
        self.inferencer = BatchedTopdownInferencer(
            self.model, batch_size, flip_test, precision=precision)
        self._det_args = dict(
            det_model=det_model,
            det_weights=det_weights,
            det_cat_ids=det_cat_ids,
            pose_cfg=self.model.cfg,
            bbox_thr=bbox_thr,
            nms_thr=nms_thr,
            device=device)
        self._detector: Optional[PersonDetector] = None
        if isinstance(det_model, str) or callable(det_model):
            # a named detector is checked (and warned about) right away
            self._detector = PersonDetector(**self._det_args)

    @staticmethod
    def _pose_model(model, checkpoint: Optional[str],
                    device: str) -> nn.Module:
        if isinstance(model, nn.Module):
            if not hasattr(model, 'cfg'):
                raise TypeError('model must be a pose config or a model from '
                                'mmpose.apis.init_model (it has no cfg)')
            return model
        from mmpose.apis import init_model

        from simdr_ext.engine import load_checked_checkpoint
        if isinstance(model, (str, os.PathLike)) and not os.path.isfile(
                os.fspath(model)):
            raise FileNotFoundError(f'pose config {os.fspath(model)}: no '
                                    'such file')
        if checkpoint is None:
            warnings.warn('no pose checkpoint: the pose model has random '
                          'weights', UserWarning, stacklevel=3)
        built = init_model(
            model if isinstance(model, Config) else os.fspath(model), None,
            device=device)
        load_checked_checkpoint(built, checkpoint)
        return built.eval()

    @property
    def detector(self) -> PersonDetector:
        """The person detector (built at first use)."""
        if self._detector is None:
            self._detector = PersonDetector(**self._det_args)
        return self._detector

    def iter(self, inputs: Source, boxes=None) -> Iterator[Dict]:
        """Yield the poses of each picture in turn (see :meth:`__call__`);
        a video is read frame by frame, never held whole."""
        items, video = list_pictures(inputs)
        single = isinstance(inputs, np.ndarray) or (
            isinstance(inputs, (str, os.PathLike)) and not video
            and not os.path.isdir(inputs))
        given = None
        if boxes is not None:
            given = [boxes] if single else list(boxes)
            if not video and len(given) != len(items):
                raise ValueError(
                    f'boxes: got {len(given)} box arrays for {len(items)} '
                    'pictures; give one (M, 4) or (M, 5) array per picture')
        chunk: List = []
        index = 0
        for name, frame, img in iter_pictures(inputs):
            if given is not None:
                if index >= len(given):
                    raise ValueError(
                        f'boxes: got {len(given)} box arrays, but {name} '
                        f'has more than {len(given)} frames; give one '
                        'array per frame')
                dets = as_dets(given[index], f'boxes of picture {index}')
            else:
                dets = self.detector(img)
            chunk.append((name, frame, img, dets))
            index += 1
            if len(chunk) >= PICTURES_PER_CHUNK or sum(
                    len(c[3]) for c in chunk) >= self.inferencer.batch_size:
                yield from self._poses(chunk)
                chunk = []
        yield from self._poses(chunk)
        if given is not None and video and index != len(given):
            raise ValueError(f'boxes: got {len(given)} box arrays for the '
                             f'{index} frames of {items[0]}')

    def _poses(self, chunk: List) -> Iterator[Dict]:
        if not chunk:
            return
        results = self.inferencer([c[2] for c in chunk],
                                  [c[3][:, :4] for c in chunk])
        for (name, frame, _, dets), res in zip(chunk, results):
            yield dict(
                img_path=name,
                frame_index=frame,
                bboxes=res['bboxes'],
                bbox_scores=dets[:, 4].copy(),
                keypoints=res['keypoints'],
                keypoint_scores=res['keypoint_scores'])

    def __call__(self, inputs: Source, boxes=None) -> List[Dict]:
        """Poses of every picture of ``inputs``.

        Args:
            inputs (str | np.ndarray | Sequence): An image file, a BGR
                array (H, W, 3), a folder (its images, sorted by name), a
                video file (every frame), or a list of image files and
                arrays.
            boxes (optional): The person boxes instead of the detector's:
                for one image an (M, 4) xyxy or (M, 5) xyxy + score array;
                otherwise one such array per picture (image or frame), in
                order (``None`` or empty: no person).

        Returns:
            list[dict]: Per picture: ``img_path`` (the file, ``'array
            <i>'`` or the video), ``frame_index`` (``None`` but for video
            frames), ``bboxes`` (M, 4) xyxy and ``bbox_scores`` (M, ),
            ``keypoints`` (M, K, 2) and ``keypoint_scores`` (M, K), all in
            image pixels.
        """
        return list(self.iter(inputs, boxes))


def as_dets(boxes, name: str) -> np.ndarray:
    """Given boxes as float32 (M, 5): xyxy and a score (1 when absent)."""
    if boxes is None:
        return np.zeros((0, 5), np.float32)
    arr = np.asarray(boxes, dtype=np.float64)
    if arr.ndim == 1 and arr.shape[0] in (4, 5):
        arr = arr[None]
    if arr.size and (arr.ndim != 2 or arr.shape[1] not in (4, 5)):
        raise ValueError(f'{name} must be xyxy boxes of shape (M, 4) or '
                         f'(M, 5) with scores, got shape {arr.shape}')
    xyxy = check_boxes(arr, name)
    scores = arr[:, 4] if arr.size and arr.shape[1] == 5 else np.ones(
        len(xyxy))
    return np.concatenate([xyxy, scores[:, None]], 1).astype(np.float32)


def estimate_poses(model: Union[str, Config, nn.Module],
                   checkpoint: Optional[str],
                   inputs: Source,
                   boxes=None,
                   det_model: DetModel = None,
                   det_weights: Optional[str] = None,
                   device: Optional[str] = None,
                   **kwargs) -> List[Dict]:
    """Poses of the people in an image, a folder or a video, in one call.

    Args:
        model (str | Config | nn.Module): A top-down pose config or a model
            from ``init_model``.
        checkpoint (str, optional): The pose weights (``None``: random,
            warned).
        inputs (str | np.ndarray | Sequence): See
            :meth:`PoseInferencer.__call__`.
        boxes (optional): Person boxes per picture, instead of a detector.
        det_model (str | callable, optional): An mmdet config or model
            name, a callable ``image -> (M, 4|5)`` boxes, or
            ``'whole_image'``; ``None``: mmpose's default person detector.
        det_weights (str, optional): Checkpoint of an mmdet ``det_model``.
        device (str, optional): ``None``: CUDA when present, else CPU.
        **kwargs: More arguments of :class:`PoseInferencer`
            (``det_cat_ids``, ``bbox_thr``, ``nms_thr``, ``batch_size``,
            ``flip_test``, ``precision``).

    Returns:
        list[dict]: Per picture ``img_path``, ``frame_index``, ``bboxes``
        (M, 4), ``bbox_scores`` (M, ), ``keypoints`` (M, K, 2) and
        ``keypoint_scores`` (M, K) in image pixels.

    Example::

        >>> from simdr_ext.apis import estimate_poses
        >>> people = estimate_poses(CONFIG, CHECKPOINT, 'photo.jpg')[0]
        >>> people['keypoints'].shape  # (M, K, 2)
    """
    return PoseInferencer(
        model,
        checkpoint,
        det_model=det_model,
        det_weights=det_weights,
        device=device,
        **kwargs)(inputs, boxes)


__all__ = ['PICTURES_PER_CHUNK', 'PoseInferencer', 'as_dets',
           'estimate_poses']
