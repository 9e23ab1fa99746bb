# Copyright (c) simdr_ext contributors. All rights reserved.
"""Person boxes for top-down pose estimation: a callable, any mmdet
detector, mmpose's default detector for the pose model's data set, or
(asked for by name) the whole picture."""
import os
import os.path as osp
import warnings
from typing import Callable, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config

from simdr_runtime.crops import check_boxes

#: ``det_model`` values that make every picture one whole-picture box.
WHOLE_IMAGE = ('whole_image', 'whole-image')

DetModel = Union[None, str, Callable[[np.ndarray], np.ndarray]]


def dataset_object_type(cfg: Config) -> str:
    """What mmpose's inferencers read from a pose config to choose their
    default detector.

    The data set class named by the config's top-level ``dataset_type``,
    looked up in mmpose's ``DATASETS``; the object type is the part of the
    class's module path after its last ``datasets.``, up to the next dot
    (``mmpose.datasets.datasets.body.coco_dataset`` → ``body``), as
    ``BaseMMPoseInferencer._init_detector`` computes it
    (mmpose/apis/inferencers/base_mmpose_inferencer.py, mmpose 1.3.2).

    Args:
        cfg (Config): A pose config.

    Returns:
        str: The object type, e.g. ``'body'``, ``'face'``, ``'hand'``.

    Raises:
        ValueError: The config has no ``dataset_type``, or it names no
            registered data set.
    """
    from mmengine.registry import DefaultScope
    from mmpose.registry import DATASETS
    name = cfg.get('dataset_type')
    if not name:
        raise ValueError(
            'the pose config has no top-level dataset_type, from which '
            "mmpose's default person detector is chosen: pass boxes, a "
            "det_model, or det_model='whole_image'")
    with DefaultScope.overwrite_default_scope('mmpose'):
        cls = DATASETS.get(name)
    if cls is None:
        raise ValueError(f'the pose config\'s dataset_type {name!r} is not '
                         "a registered data set of mmpose's DATASETS")
    return cls.__module__.split('datasets.')[-1].split('.')[0].lower()


def default_detector(cfg: Config) -> dict:
    """mmpose's default detector for a pose config, as ``MMPoseInferencer``
    picks it: the entry of ``default_det_models``
    (mmpose/apis/inferencers/utils/default_det_models.py) for
    :func:`dataset_object_type`.

    Args:
        cfg (Config): A pose config.

    Returns:
        dict: ``model`` (an mmdet config file or model name), ``weights``
        (a URL or ``None``) and ``cat_ids`` (the labels kept).

    Raises:
        ValueError: mmpose has no default detector for the data set.
    """
    from mmpose.apis.inferencers.utils.default_det_models import \
        default_det_models
    kind = dataset_object_type(cfg)
    if kind not in default_det_models:
        raise ValueError(
            f'mmpose has no default detector for the data set type '
            f'{cfg.get("dataset_type")!r} (object type {kind!r}; defaults '
            f'exist for {", ".join(sorted(default_det_models))}): pass '
            "boxes, a det_model, or det_model='whole_image'")
    return dict(default_det_models[kind])


def fetch_weights(url: str, what: str) -> str:
    """The torch hub cache file of ``url``, downloaded first if absent.

    Args:
        url (str): The weights' URL.
        what (str): What they are, for the error.

    Returns:
        str: The local file.

    Raises:
        RuntimeError: The download failed; the one-line message names the
            fixes (boxes, another detector, the cache path).
    """
    from simdr_ext.engine.trusted_load import hub_cache_file
    cached = hub_cache_file(url)
    if osp.isfile(cached):
        return cached
    try:
        os.makedirs(osp.dirname(cached), exist_ok=True)
        torch.hub.download_url_to_file(url, cached, progress=True)
    except (OSError, ValueError) as err:
        reason = ' '.join(str(getattr(err, 'reason', err)).split())
        raise RuntimeError(
            f'cannot download {what} {url} ({reason}): pass boxes=, a '
            'det_model (an mmdet config with det_weights=<local file>, or a '
            'callable image -> (M, 4|5) boxes), or put the file at '
            f'{cached}') from None
    return cached


class PersonDetector:
    """Person boxes (with scores) of a BGR picture.

    The detector is, by ``det_model``:

    - a callable ``image (H, W, 3) BGR -> (M, 4) or (M, 5)`` xyxy boxes
      (the 5th column a score; 1 without it);
    - an mmdet config file or model name (with ``det_weights``), run by
      mmdet's ``DetInferencer`` as ``MMPoseInferencer`` runs it, keeping
      the labels ``det_cat_ids``;
    - ``None``: mmpose's default detector for the pose config's data set
      (:func:`default_detector`), its weights from the torch hub cache or
      downloaded there;
    - ``'whole_image'``: one box covering the whole picture (warned).

    Detected boxes (not the whole picture) keep those scoring above
    ``bbox_thr`` and go through mmpose's box NMS at ``nms_thr``, as in
    mmpose's ``Pose2DInferencer``.

    Args:
        det_model (str | callable, optional): See above. Defaults to
            ``None``.
        det_weights (str, optional): Checkpoint of an mmdet config.
        det_cat_ids (int | Sequence[int], optional): mmdet labels kept;
            ``None``: the default detector's, else ``(0, )`` (person).
        pose_cfg (Config, optional): The pose config, needed for the
            default detector.
        bbox_thr (float): Lowest box score kept. Defaults to 0.3.
        nms_thr (float, optional): IoU above which the lower-scoring box
            is dropped; ``None``: no NMS. Defaults to 0.3.
        device (str, optional): Device of an mmdet detector.

    Example::

        >>> detect = PersonDetector(lambda img: np.array([[10, 20, 90, 200]]))
        >>> detect(image)  # (M, 5): x1, y1, x2, y2, score
    """

    def __init__(self,
                 det_model: DetModel = None,
                 det_weights: Optional[str] = None,
                 det_cat_ids: Union[None, int, Sequence[int]] = None,
                 pose_cfg: Optional[Config] = None,
                 bbox_thr: float = 0.3,
                 nms_thr: Optional[float] = 0.3,
                 device: Optional[str] = None) -> None:
        self.bbox_thr = float(bbox_thr)
        self.nms_thr = None if nms_thr is None else float(nms_thr)
        self.whole_image = isinstance(det_model, str) and \
            det_model in WHOLE_IMAGE
        self.name = 'whole image'
        self._callable: Optional[Callable] = None
        self._inferencer = None
        if self.whole_image:
            warnings.warn(
                "det_model='whole_image': every picture is taken as one "
                'person whose box is the whole picture; pass boxes or a '
                'detector to find the people', UserWarning, stacklevel=3)
            return
        if callable(det_model):
            self._callable = det_model
            self.name = getattr(det_model, '__name__',
                                type(det_model).__name__)
            return
        if det_model is None:
            if pose_cfg is None:
                raise ValueError('the default person detector is chosen by '
                                 'the pose config: give pose_cfg')
            info = default_detector(pose_cfg)
            det_model = info['model']
            if det_weights is None and info['weights']:
                det_weights = fetch_weights(
                    info['weights'],
                    "mmpose's default person detector weights")
            if det_cat_ids is None:
                det_cat_ids = info['cat_ids']
        elif not isinstance(det_model, str):
            raise ValueError(
                'det_model must be None, an mmdet config file or model name, '
                "a callable image -> (M, 4|5) boxes or 'whole_image', got "
                f'{type(det_model).__name__}')
        elif det_model.endswith('.py') and not osp.isfile(det_model):
            raise FileNotFoundError(f'det_model {det_model}: no such file')
        if det_weights is not None and '://' not in det_weights and \
                not osp.isfile(det_weights):
            raise FileNotFoundError(f'det_weights {det_weights}: no such '
                                    'file')
        if det_cat_ids is None:
            det_cat_ids = (0, )
        self.det_cat_ids: Tuple[int, ...] = tuple(
            det_cat_ids if isinstance(det_cat_ids, (list, tuple)) else
            (det_cat_ids, ))
        self.name = osp.basename(det_model)
        self._inferencer = self._build_mmdet(det_model, det_weights, device)

    @staticmethod
    def _build_mmdet(det_model: str, det_weights: Optional[str],
                     device: Optional[str]):
        """mmdet's ``DetInferencer``, scoped as ``MMPoseInferencer`` scopes
        it (the config's ``default_scope``, else ``mmdet``)."""
        from mmdet.apis import DetInferencer

        from simdr_ext.engine import CheckpointError
        scope = 'mmdet'
        if osp.isfile(det_model):
            scope = Config.fromfile(det_model).get('default_scope', 'mmdet')
        try:
            return DetInferencer(
                model=det_model,
                weights=det_weights,
                device=device,
                scope=scope,
                show_progress=False)
        except CheckpointError as err:
            raise RuntimeError(
                f'cannot load the person detector {det_model}: {err}; pass '
                'boxes=, or a det_model with local det_weights') from None

    def detect(self, image: np.ndarray) -> np.ndarray:
        """The detector's boxes before the score threshold and NMS.

        Args:
            image (np.ndarray): BGR image in shape (H, W, 3).

        Returns:
            np.ndarray: Float32 boxes with scores in shape (M, 5).
        """
        h, w = image.shape[:2]
        if self.whole_image:
            return np.array([[0, 0, w, h, 1]], np.float32)
        if self._callable is not None:
            raw = self._callable(image)
            arr = np.asarray(raw if raw is not None else np.zeros((0, 4)),
                             dtype=np.float64)
            if arr.size and (arr.ndim != 2 or arr.shape[1] not in (4, 5)):
                raise ValueError(
                    f'the detector {self.name} returned shape {arr.shape}; '
                    'it must return xyxy boxes (M, 4) or (M, 5) with scores')
            boxes = check_boxes(arr, f'boxes from the detector {self.name}')
            scores = arr[:, 4] if arr.size and arr.shape[1] == 5 else \
                np.ones(len(boxes))
            return np.concatenate([boxes, scores[:, None]],
                                  1).astype(np.float32)
        pred = self._inferencer(
            image, return_datasamples=True)['predictions'][0]
        inst = pred.pred_instances.cpu().numpy()
        keep = np.isin(inst.labels, self.det_cat_ids)
        return np.concatenate(
            [inst.bboxes[keep], inst.scores[keep][:, None]],
            1).astype(np.float32).reshape(-1, 5)

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """Person boxes of one picture.

        Args:
            image (np.ndarray): BGR image in shape (H, W, 3).

        Returns:
            np.ndarray: Float32 ``x1, y1, x2, y2, score`` in shape (M, 5),
            above ``bbox_thr`` and after NMS (the whole picture as it is).
        """
        from mmpose.evaluation.functional import nms
        dets = self.detect(image)
        if self.whole_image:
            return dets
        dets = dets[dets[:, 4] > self.bbox_thr]
        if self.nms_thr is not None and len(dets) > 1:
            dets = dets[nms(dets, self.nms_thr)]
        return dets


__all__ = [
    'WHOLE_IMAGE', 'PersonDetector', 'dataset_object_type',
    'default_detector', 'fetch_weights'
]
