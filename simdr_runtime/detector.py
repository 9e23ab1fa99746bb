# Copyright (c) simdr_ext contributors. All rights reserved.
"""Person boxes from a detector ONNX model, with numpy, OpenCV and
onnxruntime only.

The model layout is that of the end-to-end YOLOX and RTMDet detectors that
rtmlib runs (``rtmlib/tools/object_detection/yolox.py`` and ``rtmdet.py``
in ``Tau-J/rtmlib``; files exported by mmdeploy with the NMS inside the
graph):

* **Input**: one float32 tensor, any name, shape (1, 3, H, W). H and W are
  read from the graph when they are static; a graph with dynamic sides
  needs ``input_size=(W, H)``.
* **Pre-processing** (letterbox): the BGR uint8 image (h, w) is resized
  with ``cv2.resize(..., INTER_LINEAR)`` by ``ratio = min(H / h, W / w)``
  to ``(int(w * ratio), int(h * ratio))`` (at least 1 pixel each),
  written into the top-left corner of an (H, W, 3) uint8 canvas filled
  with ``pad_value`` (114), converted to float32 and, only when ``mean``
  and ``std`` are given, normalised per channel as ``(x - mean) / std``
  (rtmlib feeds raw pixels to both its YOLOX and its RTMDet files; for an
  RTMDet export whose graph does not normalise, mmdet's RTMDet values are
  :data:`RTMDET_MEAN`, :data:`RTMDET_STD`, BGR order), then transposed to
  NCHW. Channels stay BGR unless
  ``to_rgb=True``.
* **Outputs**: ``dets`` float (1, N, 5), rows ``[x1, y1, x2, y2, score]``
  in input (letterboxed) pixels, and optionally ``labels`` (1, N), the
  class of each row. Other outputs are ignored; a graph without ``dets``
  is refused.
* **Post-processing**: rows with a non-finite value are dropped; rows
  whose score is above ``score_thr`` (strictly) and, when the graph has
  ``labels``, whose label is ``person_class`` (0, COCO's person) are
  kept; boxes are divided by ``ratio`` (the canvas offset is 0) and
  clipped to the image ``[0, w] x [0, h]``; boxes without area are
  dropped; then a greedy class-agnostic NMS in image pixels (boxes sorted
  by score, a box is dropped when its IoU with a kept box is above
  ``nms_thr``; areas ``(x2 - x1) * (y2 - y1)``, no +1), skipped when
  ``nms_thr`` is ``None``. The result is sorted by descending score.

rtmlib keeps the end-to-end rows (its first output, last dimension 5) with
a score above 0.3, divides them by ``ratio`` and ignores ``labels`` (its
detectors are person-only); here the threshold, the class and the NMS are
settings. Graphs without NMS (YOLOX's raw (1, N, 5 + C) head output, which
rtmlib decodes on strides 8/16/32) are not supported.
"""
import os
import os.path as osp
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np

from .crops import read_image

#: RTMDet's normalisation (mmdet's RTMDet configs, ``bgr_to_rgb=False``),
#: BGR order.
RTMDET_MEAN = (103.53, 116.28, 123.675)
RTMDET_STD = (57.375, 57.12, 58.395)
#: Largest detector input side accepted (pixels).
MAX_DETECTOR_SIDE = 8192


def letterbox(image: np.ndarray,
              input_size: Tuple[int, int],
              pad_value: float = 114) -> Tuple[np.ndarray, float]:
    """Resize keeping the aspect ratio into the top-left corner of a
    padded canvas.

    Args:
        image (np.ndarray): BGR uint8 image (h, w, 3).
        input_size (tuple): The canvas ``(W, H)``.
        pad_value (float): The canvas fill. Defaults to 114.

    Returns:
        tuple: The canvas, uint8 (H, W, 3), and ``ratio`` (float), the
        factor from image to canvas pixels.
    """
    w_in, h_in = input_size
    h, w = image.shape[:2]
    ratio = min(h_in / h, w_in / w)
    new_w = min(w_in, max(1, int(w * ratio)))
    new_h = min(h_in, max(1, int(h * ratio)))
    canvas = np.full((h_in, w_in, 3), pad_value, np.uint8)
    canvas[:new_h, :new_w] = cv2.resize(
        image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    return canvas, ratio


def nms(boxes: np.ndarray, scores: np.ndarray, thr: float) -> np.ndarray:
    """Greedy non-maximum suppression.

    Args:
        boxes (np.ndarray): xyxy boxes (M, 4).
        scores (np.ndarray): Scores (M, ).
        thr (float): A box whose IoU with a kept, higher-scoring box is
            above ``thr`` is dropped.

    Returns:
        np.ndarray: The kept indices (int64), by descending score.
    """
    boxes = boxes.astype(np.float64)
    order = np.argsort(-scores, kind='stable')
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        lt = np.maximum(boxes[i, :2], boxes[rest, :2])
        rb = np.minimum(boxes[i, 2:], boxes[rest, 2:])
        inter = np.prod(np.clip(rb - lt, 0, None), axis=1)
        iou = inter / (areas[i] + areas[rest] - inter)
        order = rest[~(iou > thr)]
    return np.array(keep, np.int64)


def _side(value) -> Optional[int]:
    return value if isinstance(value, int) and value > 0 else None


class OnnxPersonDetector:
    """Person boxes from an end-to-end YOLOX / RTMDet ONNX model.

    The layout and the processing are in this module's docstring.

    Args:
        onnx_file (str): The detector ``.onnx`` file.
        score_thr (float): Keep boxes scoring above this. Defaults to 0.3
            (rtmlib's threshold for end-to-end models, and mmpose's
            ``--bbox-thr`` default).
        nms_thr (float, optional): IoU above which the lower-scoring box
            is dropped; ``None``: no NMS. Defaults to 0.45 (rtmlib's
            YOLOX default).
        input_size (tuple, optional): ``(W, H)`` for a graph with dynamic
            sides; must match a static input. Defaults to the graph's.
        mean (Sequence[float], optional): Per-channel mean subtracted
            after the letterbox, image channel order; ``None``: no
            normalisation (rtmlib's YOLOX and RTMDet files). An RTMDet
            export that does not normalise: :data:`RTMDET_MEAN`.
        std (Sequence[float], optional): Per-channel divisor, with
            ``mean``. RTMDet: :data:`RTMDET_STD`.
        pad_value (float): The letterbox fill. Defaults to 114.
        to_rgb (bool): Feed RGB instead of BGR. Defaults to ``False``.
        person_class (int): The person label when the graph has a
            ``labels`` output. Defaults to 0.
        providers (Sequence[str], optional): onnxruntime execution
            providers. Defaults to ``['CPUExecutionProvider']``.
        num_threads (int, optional): Intra-op threads. Defaults to
            onnxruntime's choice.

    Example::

        detector = OnnxPersonDetector('yolox_m.onnx', score_thr=0.5)
        boxes = detector(image)  # (M, 5) x1, y1, x2, y2, score; pixels
        rtmdet = OnnxPersonDetector('rtmdet_nano.onnx', mean=RTMDET_MEAN,
                                    std=RTMDET_STD)
    """

    def __init__(self,
                 onnx_file: str,
                 score_thr: float = 0.3,
                 nms_thr: Optional[float] = 0.45,
                 input_size: Optional[Tuple[int, int]] = None,
                 mean: Optional[Sequence[float]] = None,
                 std: Optional[Sequence[float]] = None,
                 pad_value: float = 114,
                 to_rgb: bool = False,
                 person_class: int = 0,
                 providers: Optional[Sequence[str]] = None,
                 num_threads: Optional[int] = None) -> None:
        from .onnx_runtime import open_session
        onnx_file = os.fspath(onnx_file)
        if not osp.isfile(onnx_file):
            raise FileNotFoundError(
                f'detector ONNX model {onnx_file} does not exist')
        self.onnx_file = onnx_file
        self.score_thr = self._number('score_thr', score_thr)
        self.nms_thr = None if nms_thr is None else self._number(
            'nms_thr', nms_thr, 0, 1)
        self.pad_value = self._number('pad_value', pad_value, 0, 255)
        if (mean is None) != (std is None):
            raise ValueError('give mean and std together (or neither), got '
                             f'mean={mean!r}, std={std!r}')
        self.mean = self.std = None
        if mean is not None:
            self.mean = self._channels('mean', mean)
            self.std = self._channels('std', std)
            if not (self.std > 0).all():
                raise ValueError(f'std must be positive, got {std!r}')
        self.to_rgb = bool(to_rgb)
        self.person_class = person_class
        self.session = open_session(onnx_file, providers, num_threads)
        self.input_name, self.input_size = self._check_graph(input_size)
        names = [o.name for o in self.session.get_outputs()]
        self.output_names = ['dets'] + (['labels']
                                        if 'labels' in names else [])

    @staticmethod
    def _number(name: str, value, low: float = 0, high: float = 1) -> float:
        if isinstance(value, bool) or not isinstance(
                value, (int, float, np.integer, np.floating)) or not (
                    low <= value <= high):
            raise ValueError(f'{name} must be a number in [{low:g}, '
                             f'{high:g}], got {value!r}')
        return float(value)

    @staticmethod
    def _channels(name: str, value) -> np.ndarray:
        try:
            arr = np.asarray(value, np.float32).reshape(-1)
        except (TypeError, ValueError):
            arr = np.zeros(0)
        if arr.shape != (3, ) or not np.isfinite(arr).all():
            raise ValueError(f'{name} must be 3 finite numbers (one per '
                             f'channel), got {value!r}')
        return arr

    def _fail(self, what: str) -> ValueError:
        return ValueError(
            f'{self.onnx_file} is not an end-to-end person detector in '
            "rtmlib's YOLOX / RTMDet layout (input float32 (1, 3, H, W); "
            f'outputs dets (1, N, 5), optional labels (1, N)): {what}')

    def _check_graph(self, input_size) -> Tuple[str, Tuple[int, int]]:
        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            raise self._fail(f'{len(inputs)} inputs '
                             f'{[i.name for i in inputs]}')
        arg = inputs[0]
        if arg.type != 'tensor(float)':
            raise self._fail(f'input {arg.name} is {arg.type}')
        dims = tuple(arg.shape) if isinstance(arg.shape, (list, tuple)) \
            else ()
        fixed = [_side(d) for d in dims[:2]]
        if len(dims) != 4 or fixed[0] not in (None, 1) or fixed[1] not in (
                None, 3):
            raise self._fail(f'input {arg.name} has shape {list(dims)}')
        graph_hw = (_side(dims[2]), _side(dims[3]))
        if input_size is not None:
            ok = isinstance(input_size, (tuple, list)) and len(
                input_size) == 2 and all(
                    _side(v) and v <= MAX_DETECTOR_SIDE for v in input_size)
            if not ok:
                raise ValueError(
                    f'input_size must be (W, H), two integers from 1 to '
                    f'{MAX_DETECTOR_SIDE}, got {input_size!r}')
            w, h = input_size
            if graph_hw[0] not in (None, h) or graph_hw[1] not in (None, w):
                raise ValueError(
                    f'input_size {tuple(input_size)} (W, H) does not match '
                    f'the input {arg.name} of {self.onnx_file}, shape '
                    f'{list(dims)}')
        elif None in graph_hw:
            raise ValueError(
                f'{self.onnx_file}: input {arg.name} has dynamic sides '
                f'{list(dims)}: pass input_size=(W, H), e.g. (640, 640)')
        else:
            h, w = graph_hw
            if max(h, w) > MAX_DETECTOR_SIDE:
                raise self._fail(f'input {arg.name} has shape {list(dims)}, '
                                 f'sides over {MAX_DETECTOR_SIDE}')
        names = [o.name for o in self.session.get_outputs()]
        if 'dets' not in names:
            raise self._fail(f'outputs {names}, no dets')
        for out in self.session.get_outputs():
            if out.name not in ('dets', 'labels'):
                continue
            shape = tuple(out.shape) if isinstance(out.shape,
                                                   (list, tuple)) else ()
            want = 3 if out.name == 'dets' else 2
            if len(shape) != want or (out.name == 'dets' and isinstance(
                    shape[-1], int) and shape[-1] != 5):
                raise self._fail(f'output {out.name} has shape '
                                 f'{list(shape)}')
        return arg.name, (int(w), int(h))

    def preprocess(self, image) -> Tuple[np.ndarray, float]:
        """The model input of one image.

        Args:
            image (str | np.ndarray): A file or a BGR uint8 array
                (h, w, 3).

        Returns:
            tuple: The input, float32 (1, 3, H, W), and ``ratio``.
        """
        img = read_image(image)
        if img.dtype != np.uint8:
            raise ValueError(f'the detector needs a uint8 image (BGR '
                             f'0-255), got {img.dtype}')
        canvas, ratio = letterbox(img, self.input_size, self.pad_value)
        if self.to_rgb:
            canvas = canvas[..., ::-1]
        x = canvas.astype(np.float32)
        if self.mean is not None:
            x = (x - self.mean) / self.std
        return np.ascontiguousarray(x.transpose(2, 0, 1)[None],
                                    np.float32), ratio

    def postprocess(self, dets: np.ndarray, labels: Optional[np.ndarray],
                    ratio: float, image_shape: Tuple[int, int]
                    ) -> np.ndarray:
        """Person boxes in image pixels from the graph's outputs.

        Args:
            dets (np.ndarray): ``dets`` (1, N, 5), input pixels.
            labels (np.ndarray, optional): ``labels`` (1, N).
            ratio (float): :meth:`preprocess`'s ratio.
            image_shape (tuple): The image's ``(h, w)``.

        Returns:
            np.ndarray: float32 (M, 5) ``x1, y1, x2, y2, score``, by
            descending score.
        """
        shape = getattr(dets, 'shape', None)
        if not (isinstance(dets, np.ndarray) and dets.dtype.kind == 'f'
                and len(shape) == 3 and shape[0] == 1 and shape[2] == 5):
            raise ValueError(
                f'{self.onnx_file}: output dets has shape {shape} '
                f'({getattr(dets, "dtype", type(dets))}), expected float '
                '(1, N, 5)')
        rows = dets[0].astype(np.float64)
        keep = np.isfinite(rows).all(1) & (rows[:, 4] > self.score_thr)
        if labels is not None:
            if not (isinstance(labels, np.ndarray)
                    and labels.shape == shape[:2]):
                raise ValueError(
                    f'{self.onnx_file}: output labels has shape '
                    f'{getattr(labels, "shape", None)}, expected '
                    f'{shape[:2]} (as dets {shape})')
            keep &= labels[0] == self.person_class
        rows = rows[keep]
        h, w = image_shape
        boxes = rows[:, :4] / ratio
        boxes[:, 0::2] = boxes[:, 0::2].clip(0, w)
        boxes[:, 1::2] = boxes[:, 1::2].clip(0, h)
        area = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        boxes, scores = boxes[area], rows[area, 4]
        if self.nms_thr is not None:
            order = nms(boxes, scores, self.nms_thr)
        else:
            order = np.argsort(-scores, kind='stable')
        out = np.concatenate([boxes[order], scores[order, None]], 1)
        return out.astype(np.float32).reshape(-1, 5)

    def __call__(self, image) -> np.ndarray:
        """Person boxes of one image.

        Args:
            image (str | np.ndarray): A file or a BGR uint8 array
                (h, w, 3).

        Returns:
            np.ndarray: float32 (M, 5) ``x1, y1, x2, y2, score`` in image
            pixels, by descending score.
        """
        img = read_image(image)
        x, ratio = self.preprocess(img)
        outs = self.session.run(self.output_names, {self.input_name: x})
        labels = outs[1] if len(outs) > 1 else None
        return self.postprocess(outs[0], labels, ratio, img.shape[:2])


__all__ = [
    'OnnxPersonDetector', 'RTMDET_MEAN', 'RTMDET_STD', 'letterbox', 'nms'
]
