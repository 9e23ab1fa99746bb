# Copyright (c) simdr_ext contributors. All rights reserved.
"""Top-down pose estimation with an exported ONNX model and onnxruntime.

The model file is what ``tools/deploy/export_onnx.py`` writes: the
normalisation, the network, the flip test (when the config asks for it)
and the decoder are inside the graph; the crop geometry is in the file's
metadata (keys :data:`METADATA_KEYS`). This module needs numpy, OpenCV and
onnxruntime only.
"""
import json
import math
import os.path as osp
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .crops import check_boxes, normalise_inputs, read_image
from .drawing import check_skeleton
from .engine import CropGeometry, run_topdown

#: Metadata written by the export and read here.
METADATA_KEYS = ('simdr.input_size', 'simdr.padding', 'simdr.use_udp',
                 'simdr.flip_test', 'simdr.num_keypoints',
                 'simdr.precision', 'simdr.decoder')
#: Metadata read when present: ``simdr.skeleton_links``, a JSON list of
#: ``[i, j]`` keypoint index pairs (the data set's ``skeleton_links``).
OPTIONAL_METADATA_KEYS = ('simdr.skeleton_links', )
#: Largest model input side (pixels) and keypoint count accepted.
MAX_INPUT_SIDE = 4096
MAX_KEYPOINTS = 1024
#: Largest box enlargement (``GetBBoxCenterScale``'s padding) accepted.
MAX_PADDING = 10.0
#: The export's precisions (``simdr_ext.deploy.onnx_export.PRECISIONS``).
PRECISIONS = ('fp32', 'fp16', 'fp16-naive', 'int8')
#: The export's outputs, in order; the last two for SimDR codecs only.
OUTPUTS = ('keypoints', 'scores', 'simcc_x', 'simcc_y')


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_metadata(meta: Dict[str, str], onnx_file: str) -> Dict:
    """The ``simdr.`` metadata of an exported file, parsed and checked.

    Args:
        meta (dict): The model's ``custom_metadata_map`` (JSON strings).
        onnx_file (str): The file, for the errors.

    Returns:
        dict: ``input_size`` (w, h), ``padding``, ``use_udp``,
        ``flip_test``, ``num_keypoints``, ``precision``, ``decoder`` and
        ``skeleton_links`` (tuple of pairs, ``None`` when absent).

    Raises:
        ValueError: Naming the file and the key, for a missing key, a
            value that is not JSON, of the wrong type, not finite or out
            of bounds (sides up to :data:`MAX_INPUT_SIDE`, up to
            :data:`MAX_KEYPOINTS` keypoints, padding up to
            :data:`MAX_PADDING`, links between keypoints below K).
    """
    missing = [k for k in METADATA_KEYS if k not in meta]
    if missing:
        raise ValueError(
            f'{onnx_file} lacks the metadata {missing}: export it with '
            'tools/deploy/export_onnx.py')
    values = {}
    for key in METADATA_KEYS + tuple(k for k in OPTIONAL_METADATA_KEYS
                                     if k in meta):
        text = meta[key]
        try:
            values[key[len('simdr.'):]] = json.loads(text)
        except (ValueError, RecursionError):
            raise ValueError(f'{onnx_file}: metadata {key} is not JSON: '
                             f'{text[:80]!r}') from None

    def bad(key: str, want: str):
        shown = json.dumps(values[key])
        if len(shown) > 80:
            shown = shown[:77] + '...'
        return ValueError(f'{onnx_file}: metadata simdr.{key} must be '
                          f'{want}, got {shown}')

    size = values['input_size']
    if not (isinstance(size, list) and len(size) == 2 and all(
            _is_int(v) and 1 <= v <= MAX_INPUT_SIDE for v in size)):
        raise bad('input_size',
                  f'[w, h], two integers from 1 to {MAX_INPUT_SIDE}')
    padding = values['padding']
    if not (isinstance(padding, (int, float))
            and not isinstance(padding, bool) and math.isfinite(padding)
            and 0 < padding <= MAX_PADDING):
        raise bad('padding', f'a number in (0, {MAX_PADDING:g}]')
    for key in ('use_udp', 'flip_test'):
        if not isinstance(values[key], bool):
            raise bad(key, 'true or false')
    count = values['num_keypoints']
    if not (_is_int(count) and 1 <= count <= MAX_KEYPOINTS):
        raise bad('num_keypoints', f'an integer from 1 to {MAX_KEYPOINTS}')
    if values['precision'] not in PRECISIONS:
        raise bad('precision', f'one of {list(PRECISIONS)}')
    decoder = values['decoder']
    if not (isinstance(decoder, str) and 0 < len(decoder) <= 100):
        raise bad('decoder', 'a class name')
    links = values.get('skeleton_links')
    if links is not None:
        if not isinstance(links, list) or len(links) > 4 * MAX_KEYPOINTS:
            raise bad('skeleton_links', 'a list of [i, j] keypoint indices')
        try:
            links = check_skeleton(links, count, 'skeleton_links')
        except ValueError as err:
            raise bad('skeleton_links', str(err)) from None
    values['skeleton_links'] = links
    values['input_size'] = tuple(size)
    values['padding'] = float(padding)
    return values


def open_session(onnx_file: str, providers: Optional[Sequence[str]] = None,
                 num_threads: Optional[int] = None):
    """An onnxruntime ``InferenceSession`` of ``onnx_file`` (CPU unless
    ``providers`` say otherwise; ``num_threads`` intra-op threads, one
    inter-op thread); a file onnxruntime cannot load is a ``ValueError``
    naming it."""
    import onnxruntime as ort
    options = ort.SessionOptions()
    if num_threads is not None:
        options.intra_op_num_threads = int(num_threads)
        options.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(
            onnx_file, options,
            providers=list(providers or ['CPUExecutionProvider']))
    except _load_errors() as err:
        raise ValueError(f'onnxruntime cannot load {onnx_file}: '
                         f'{str(err).strip()[:500]}') from None


def _load_errors() -> Tuple[type, ...]:
    """The exceptions onnxruntime raises for a file it cannot load."""
    from onnxruntime.capi import onnxruntime_pybind11_state as state
    names = ('Fail', 'InvalidArgument', 'InvalidGraph', 'InvalidProtobuf',
             'NoSuchFile', 'NotImplemented', 'RuntimeException')
    return (RuntimeError, ) + tuple(
        getattr(state, n) for n in names if hasattr(state, n))


def _dims(arg) -> Tuple:
    """An onnxruntime argument's shape; ``()`` if it has none."""
    shape = getattr(arg, 'shape', None)
    return tuple(shape) if isinstance(shape, (list, tuple)) else ()


def check_graph(session, metadata: Dict, onnx_file: str) -> List[str]:
    """Check a session's inputs and outputs against the metadata.

    The export writes one input ``crops`` float32 (B, 3, h, w), B dynamic,
    and the outputs ``keypoints`` (B, K, 2), ``scores`` (B, K) and, for
    SimDR codecs, ``simcc_x`` (B, K, Wx), ``simcc_y`` (B, K, Wy). Static
    dimensions must equal the metadata's; dynamic ones are checked on
    every run.

    Args:
        session: An ``onnxruntime.InferenceSession``.
        metadata (dict): :func:`parse_metadata`'s result.
        onnx_file (str): The file, for the errors.

    Returns:
        list[str]: The output names.

    Raises:
        ValueError: Naming the file and the mismatch.
    """
    w, h = metadata['input_size']
    k = metadata['num_keypoints']

    def fail(what: str):
        return ValueError(
            f'{onnx_file} does not fit its metadata ({w}x{h} input, {k} '
            f'keypoints): {what}; export it with tools/deploy/export_onnx.py')

    inputs = session.get_inputs()
    if [i.name for i in inputs] != ['crops']:
        raise fail(f'inputs {[i.name for i in inputs]}, expected ["crops"]')
    crops = inputs[0]
    if crops.type != 'tensor(float)':
        raise fail(f'input crops is {crops.type}, expected tensor(float)')
    dims = _dims(crops)
    want = (None, 3, h, w)
    if len(dims) != 4 or isinstance(dims[0], int) or any(
            isinstance(d, int) and d != e for d, e in zip(dims[1:], want[1:])):
        raise fail(f'input crops has shape {list(dims)}, expected '
                   f'[batch, 3, {h}, {w}] with a dynamic batch')
    names = [o.name for o in session.get_outputs()]
    if names not in (list(OUTPUTS[:2]), list(OUTPUTS)):
        raise fail(f'outputs {names}, expected {list(OUTPUTS[:2])} or '
                   f'{list(OUTPUTS)}')
    for out in session.get_outputs():
        dims = _dims(out)
        want = dict(keypoints=(None, k, 2), scores=(None, k),
                    simcc_x=(None, k, None), simcc_y=(None, k, None))[out.name]
        if out.type != 'tensor(float)':
            raise fail(f'output {out.name} is {out.type}, expected '
                       'tensor(float)')
        if len(dims) != len(want) or any(
                isinstance(d, int) and e is not None and d != e
                for d, e in zip(dims, want)):
            shown = ['batch' if e is None else e for e in want]
            if out.name.startswith('simcc'):
                shown[-1] = 'bins'
            raise fail(f'output {out.name} has shape {list(dims)}, expected '
                       f'{shown}')
    return names


class OnnxPoseRuntime:
    """Batched top-down inference with an exported model.

    Args:
        onnx_file (str): The exported ``.onnx`` file.
        batch_size (int): Crops per onnxruntime call. Defaults to 8.
        providers (Sequence[str], optional): onnxruntime execution
            providers. Defaults to ``['CPUExecutionProvider']``.
        num_threads (int, optional): Intra-op threads. Defaults to
            onnxruntime's choice.
        detector (callable, optional): Person boxes for calls without
            boxes: ``detector(image)`` with a BGR uint8 array (H, W, 3)
            returns (M, 4) or (M, 5) (score last) xyxy boxes in image
            pixels, e.g. an :class:`OnnxPersonDetector`. Defaults to
            ``None``: every call needs boxes.

    Attributes:
        skeleton (tuple | None): The exported data set's skeleton links
            (metadata ``simdr.skeleton_links``), for :func:`draw`.

    Example::

        runtime = OnnxPoseRuntime('simdr.onnx', batch_size=8)
        results = runtime(['a.jpg', 'b.jpg'], [boxes_a, boxes_b])
        results[0]['keypoints']  # (M, K, 2) image pixels
        runtime = OnnxPoseRuntime(
            'simdr.onnx', detector=OnnxPersonDetector('yolox.onnx'))
        poses = runtime('a.jpg')  # boxes from the detector
    """

    def __init__(self,
                 onnx_file: str,
                 batch_size: int = 8,
                 providers: Optional[Sequence[str]] = None,
                 num_threads: Optional[int] = None,
                 detector: Optional[Callable[[np.ndarray],
                                             np.ndarray]] = None) -> None:
        if detector is not None and not callable(detector):
            raise ValueError('detector must be callable (image -> (M, 5) '
                             f'boxes), got {type(detector).__name__}')
        self.detector = detector
        if not osp.isfile(onnx_file):
            raise FileNotFoundError(f'ONNX model {onnx_file} does not exist')
        if (not _is_int(batch_size)
                and not isinstance(batch_size, np.integer)) or batch_size < 1:
            raise ValueError('batch_size must be a positive integer, got '
                             f'{batch_size!r}')
        self.session = open_session(onnx_file, providers, num_threads)
        self.onnx_file = onnx_file
        meta = self.session.get_modelmeta().custom_metadata_map
        self.metadata: Dict[str, object] = parse_metadata(meta, onnx_file)
        self.geometry = CropGeometry(self.metadata['input_size'],
                                     self.metadata['padding'],
                                     self.metadata['use_udp'])
        self.num_keypoints = self.metadata['num_keypoints']
        self.skeleton = self.metadata['skeleton_links']
        self.output_names = check_graph(self.session, self.metadata,
                                        onnx_file)
        self.batch_size = int(batch_size)

    def infer_crops(self, crops: np.ndarray,
                    return_distributions: bool = False
                    ) -> Dict[str, np.ndarray]:
        """Run the graph on crops.

        Args:
            crops (np.ndarray): uint8 BGR crops (B, h, w, 3).
            return_distributions (bool): Also return ``simcc_x`` and
                ``simcc_y`` (softmax over the bins) for SimDR models.

        Returns:
            dict: ``keypoints`` (B, K, 2) crop pixels, ``keypoint_scores``
            (B, K), and the distributions on request.
        """
        names = ['keypoints', 'scores']
        if return_distributions:
            if 'simcc_x' not in self.output_names:
                raise ValueError('this model has no 1D distributions (not a '
                                 'SimDR model)')
            names += ['simcc_x', 'simcc_y']
        w, h = self.geometry.input_size
        crops = np.asarray(crops)
        if crops.ndim != 4 or crops.shape[1:] != (h, w, 3):
            raise ValueError(f'crops must have shape (B, {h}, {w}, 3) for '
                             f'{self.onnx_file}, got {crops.shape}')
        x = np.ascontiguousarray(crops.transpose(0, 3, 1, 2),
                                 dtype=np.float32)
        outs = self.session.run(names, {'crops': x})
        b, k = len(crops), self.num_keypoints
        for name, out in zip(names, outs):
            want = dict(keypoints=(b, k, 2), scores=(b, k)).get(name)
            shape = getattr(out, 'shape', None)
            ok = isinstance(out, np.ndarray) and out.dtype.kind == 'f' and (
                shape == want if want else
                (len(shape) == 3 and shape[:2] == (b, k) and shape[2] > 0))
            if not ok:
                expected = want or (b, k, 'bins')
                raise ValueError(
                    f'{self.onnx_file}: output {name} of a run on {b} crops '
                    f'has shape {shape} ({getattr(out, "dtype", type(out))})'
                    f', expected float {expected} ({k} keypoints in its '
                    'metadata)')
        result = dict(keypoints=outs[0], keypoint_scores=outs[1])
        if return_distributions:
            result.update(simcc_x=outs[2], simcc_y=outs[3])
        return result

    def __call__(self,
                 images,
                 boxes=None,
                 return_distributions: bool = False) -> List[Dict]:
        """Keypoints of every box of every image.

        Args:
            images (str | np.ndarray | Sequence): One image (path or BGR
                array (H, W, 3)) or a list of them.
            boxes: (M, 4) xyxy boxes for one image, or a list of them,
                one per image (``None`` or empty: nobody); a fifth
                column is taken as the box score. ``None`` (the whole
                argument): the ``detector``'s boxes; an error without a
                detector. Defaults to ``None``.
            return_distributions (bool): Also return the SimDR 1D
                distributions ``simcc_x`` (M, K, Wx), ``simcc_y``
                (M, K, Wy). Defaults to ``False``.

        Returns:
            list[dict]: Per image ``bboxes`` (M, 4), ``bbox_scores``
            (M, ) (the detector's or the boxes' fifth column, else 1),
            ``keypoints`` (M, K, 2) and ``keypoint_scores`` (M, K), in
            image pixels.
        """

        def infer(crops):
            return self.infer_crops(crops, return_distributions)

        if boxes is not None:
            results = run_topdown(images, boxes, self.geometry,
                                  self.batch_size, infer, self.num_keypoints)
            _, given = normalise_inputs(images, boxes)
            for res, bxs in zip(results, given):
                res['bbox_scores'] = _box_scores(bxs, len(res['bboxes']))
            return results
        if self.detector is None:
            raise ValueError(
                'no boxes and no detector: pass boxes (M, 4) per image, or '
                "build OnnxPoseRuntime(..., detector=OnnxPersonDetector("
                "'det.onnx'))")
        images, _ = normalise_inputs(images, None)
        results: List[Dict] = []
        held_images: List[np.ndarray] = []
        held_boxes: List[np.ndarray] = []

        def flush():
            if held_images:
                out = run_topdown(held_images, held_boxes, self.geometry,
                                  self.batch_size, infer, self.num_keypoints)
                for res, bxs in zip(out, held_boxes):
                    res['bbox_scores'] = _box_scores(bxs, len(bxs))
                results.extend(out)
                held_images.clear()
                held_boxes.clear()

        # images are read once and held until their boxes fill a batch
        for i, image in enumerate(images):
            img = read_image(image, f'image {i}')
            if img.dtype != np.uint8:
                raise ValueError(f'image {i} must be uint8 (BGR 0-255), got '
                                 f'{img.dtype}')
            dets = self.detector(img)
            name = f'the detector\'s boxes of image {i}'
            xyxy = check_boxes(dets, name)
            scores = _box_scores(dets, len(xyxy))
            if not np.isfinite(scores).all():
                raise ValueError(f'{name}: scores {scores.tolist()} are not '
                                 'all finite')
            held_images.append(img)
            held_boxes.append(np.concatenate([xyxy, scores[:, None]], 1))
            if (sum(len(b) for b in held_boxes) >= self.batch_size
                    or len(held_images) >= self.batch_size):
                flush()
        flush()
        return results


def _box_scores(boxes, count: int) -> np.ndarray:
    """The fifth column of (M, >= 5) boxes, else ones (M, ), float32."""
    if count == 0:
        return np.zeros(0, np.float32)
    arr = np.asarray(boxes, np.float64)
    if arr.ndim == 2 and arr.shape[1] >= 5:
        return arr[:, 4].astype(np.float32)
    return np.ones(count, np.float32)


__all__ = [
    'OnnxPoseRuntime', 'METADATA_KEYS', 'OPTIONAL_METADATA_KEYS',
    'parse_metadata', 'check_graph'
]
