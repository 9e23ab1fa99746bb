# Copyright (c) simdr_ext contributors. All rights reserved.
"""Static int8 quantization of an exported float32 graph with
``onnxruntime.quantization`` (calibrated on real crops).

What is quantized and why (:data:`INT8_OPTIONS`; measured with
``tools/deploy/int8_variants.py`` on an AVX2 CPU without VNNI, flags
fma avx f16c avx2):

* Format QDQ, int8 weights per output channel with ``reduce_range`` (7-bit
  weights), uint8 activations. onnxruntime runs u8s8 convolutions on AVX2
  with ``vpmaddubsw``, whose int16 sums of two u8 x s8 products saturate
  for full 8-bit weights (255 x 127 x 2 > 32767); 7-bit weights cannot
  (255 x 63 x 2 < 32767). Without it a peaked SimDR model moved 23 % of
  its keypoints; with it 3 %. int8 activations (s8s8) are no faster than
  float32 there, and per-tensor weights are less accurate.
* Quantized: the convolutions (fused into ``QLinearConv`` with their
  ReLUs), the ``MaxPool`` and the residual ``Add`` s. onnxruntime 1.32 does
  not fuse the ``Add`` s of this opset-17 graph into ``QLinearAdd``: they
  run in float32 between a ``DequantizeLinear`` and a ``QuantizeLinear``,
  and quantizing the convolutions alone measured the same speed (1.75x vs
  1.72x float32, within the run's noise).
* Float32 stay the last two weighted layers on every path to the outputs
  (:func:`float_tail`: for SimDR heads the ``mlp_head_x`` /
  ``mlp_head_y`` ``MatMul`` s and the ``final_layer`` 1x1 conv before
  them; for heatmap heads the last two convs) and everything after them,
  the decoder (softmax, argmax, scores, refinement): their outputs are
  the logits whose argmax is the keypoint, a quantization step there
  moves argmaxes between bins, and they are a small share of the compute.
* Conv biases that ``torch.onnx.export`` shares between layers (equal
  bias tensors are deduplicated and reach later convs through
  ``Identity`` nodes, e.g. every BN-folded zero bias of a freshly
  initialised model) get back their own initializer first
  (:func:`inline_shared_initializers`): the quantizer can only quantize a
  bias that is an initializer. In the QOperator format it otherwise
  fails with ``'NoneType' object has no attribute 'data_type'``; in QDQ
  the bias stays float, the conv is not fused and the graph runs slower
  than float32.
"""
import os.path as osp
import shutil
import tempfile
from typing import Dict, List, Optional, Sequence, Set

import numpy as np

#: Weighted operators quantized by default.
QUANT_OPS = ('Conv', 'Relu', 'Add', 'MaxPool')
#: Weighted operators: the last ones before the outputs stay float.
WEIGHTED_OPS = ('Conv', 'MatMul', 'Gemm', 'ConvTranspose')


def inline_shared_initializers(model):
    """Replace every ``Identity`` of an initializer by a copy of it.

    Args:
        model (onnx.ModelProto): Changed in place.

    Returns:
        int: The number of ``Identity`` nodes replaced.
    """
    from onnx import numpy_helper
    inits = {i.name: i for i in model.graph.initializer}
    graph_outputs = {o.name for o in model.graph.output}
    keep, count = [], 0
    for node in model.graph.node:
        if (node.op_type == 'Identity' and node.input[0] in inits
                and node.output[0] not in graph_outputs):
            array = numpy_helper.to_array(inits[node.input[0]])
            model.graph.initializer.append(
                numpy_helper.from_array(array.copy(), node.output[0]))
            count += 1
        else:
            keep.append(node)
    del model.graph.node[:]
    model.graph.node.extend(keep)
    return count


def float_tail(model, depth: int = 1) -> List[str]:
    """Names of the nodes kept float32: the ``depth`` last weighted layers
    (:data:`WEIGHTED_OPS`) on every path to the graph's outputs and all
    nodes after them.

    Args:
        model (onnx.ModelProto): The float32 graph (named nodes).
        depth (int): Weighted layers kept float per path (>= 1).

    Returns:
        list[str]: Node names, in graph order.
    """
    producer = {out: node for node in model.graph.node
                for out in node.output}
    chosen: Set[str] = set()
    frontier = [(o.name, 0) for o in model.graph.output]
    seen: Dict[str, int] = {}
    while frontier:
        tensor, met = frontier.pop()
        node = producer.get(tensor)
        if node is None or seen.get(node.name, -1) >= met:
            continue
        seen[node.name] = met
        chosen.add(node.name)
        if node.op_type in WEIGHTED_OPS:
            met += 1
            if met >= depth:
                continue
        frontier.extend((i, met) for i in node.input if i)
    return [n.name for n in model.graph.node if n.name in chosen]


class CropsReader:
    """An onnxruntime ``CalibrationDataReader`` over float32 crops.

    Args:
        crops (np.ndarray): (N, 3, h, w) float32 BGR 0-255.
        batch_size (int): Crops per calibration run. Defaults to 8.
        input_name (str): The graph input. Defaults to ``'crops'``.
    """

    def __init__(self, crops: np.ndarray, batch_size: int = 8,
                 input_name: str = 'crops') -> None:
        self.crops = np.ascontiguousarray(crops, np.float32)
        self.batch_size, self.input_name = int(batch_size), input_name
        self.start = 0

    def get_next(self) -> Optional[Dict[str, np.ndarray]]:
        if self.start >= len(self.crops):
            return None
        batch = self.crops[self.start:self.start + self.batch_size]
        self.start += self.batch_size
        return {self.input_name: batch}

    def rewind(self) -> None:
        self.start = 0


def quantize_int8(fp32_file: str, out_file: str, crops: np.ndarray,
                  quant_format: str = 'QDQ', per_channel: bool = True,
                  activation: str = 'uint8', reduce_range: bool = False,
                  op_types: Sequence[str] = QUANT_OPS, float_depth: int = 1,
                  pre_process: bool = False, inline_biases: bool = True,
                  weight: str = 'int8', float_first: bool = False,
                  extra_options: Optional[dict] = None) -> Dict:
    """Statically quantize an exported float32 graph.

    Args:
        fp32_file (str): The float32 ``.onnx`` (its metadata is kept; its
            ``simdr.precision`` becomes ``"int8"``).
        out_file (str): The int8 ``.onnx``.
        crops (np.ndarray): Calibration crops (N, 3, h, w), float32 BGR
            0-255 (real people: the activation ranges come from them).
        quant_format (str): ``'QDQ'`` or ``'QOperator'``.
        per_channel (bool): Per-output-channel weight scales.
        activation (str): ``'uint8'`` or ``'int8'`` activations.
        reduce_range (bool): 7-bit weights (for the ``vpmaddubsw`` u8s8
            path of CPUs without VNNI, whose 16-bit sums can saturate).
        op_types (Sequence[str]): Operators quantized.
        float_depth (int): Last weighted layers per output path kept
            float32 (:func:`float_tail`); 0 keeps none float but the
            decoder has no weighted layer, so nothing after the head is
            quantized either way. Defaults to 1.
        pre_process (bool): Run ``quant_pre_process`` (shape inference
            and graph optimisation) first.
        inline_biases (bool): :func:`inline_shared_initializers` first.
        weight (str): ``'int8'`` or ``'uint8'`` weights.
        float_first (bool): Keep the first convolution (on the
            normalised image) float32.
        extra_options (dict, optional): ``quantize_static``'s.

    Returns:
        dict: ``float_nodes`` (names kept float32) and ``inlined``
        (shared initializers given back to their layers).
    """
    import onnx
    from onnxruntime import quantization as q
    if quant_format not in ('QDQ', 'QOperator'):
        raise ValueError(f'quant_format must be QDQ or QOperator, got '
                         f'{quant_format!r}')
    for what, value in (('activation', activation), ('weight', weight)):
        if value not in ('uint8', 'int8'):
            raise ValueError(f'{what} must be uint8 or int8, got '
                             f'{value!r}')
    crops = np.asarray(crops, np.float32)
    if crops.ndim != 4 or len(crops) == 0:
        raise ValueError(f'calibration crops must be (N, 3, h, w) with '
                         f'N >= 1, got shape {crops.shape}')
    model = onnx.load(fp32_file)
    meta = {p.key: p.value for p in model.metadata_props}
    inlined = inline_shared_initializers(model) if inline_biases else 0
    folder = tempfile.mkdtemp(prefix='simdr_quant_')
    try:
        source = osp.join(folder, 'float.onnx')
        onnx.save(model, source)
        if pre_process:
            from onnxruntime.quantization.shape_inference import \
                quant_pre_process
            quant_pre_process(source, osp.join(folder, 'pre.onnx'))
            source = osp.join(folder, 'pre.onnx')
            model = onnx.load(source)
        excluded = float_tail(model, float_depth) if float_depth > 0 else []
        if float_first:
            excluded += [next(n.name for n in model.graph.node
                              if n.op_type in WEIGHTED_OPS)]
        types = {t: (q.QuantType.QUInt8 if t_ == 'uint8' else
                     q.QuantType.QInt8)
                 for t, t_ in (('activation', activation),
                               ('weight', weight))}
        _quantize(q, source, out_file, crops, quant_format, per_channel,
                  types, reduce_range, op_types, excluded, extra_options)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    out = onnx.load(out_file)
    del out.metadata_props[:]
    for key, value in meta.items():
        entry = out.metadata_props.add()
        entry.key = key
        entry.value = '"int8"' if key == 'simdr.precision' else value
    onnx.save(out, out_file)
    return dict(float_nodes=excluded, inlined=inlined)


def _quantize(q, source, out_file, crops, quant_format, per_channel,
              types, reduce_range, op_types, excluded, extra_options):
    q.quantize_static(
        source, out_file, CropsReader(crops),
        quant_format=getattr(q.QuantFormat, quant_format),
        op_types_to_quantize=list(op_types), per_channel=per_channel,
        reduce_range=reduce_range,
        activation_type=types['activation'], weight_type=types['weight'],
        nodes_to_exclude=excluded,
        calibrate_method=q.CalibrationMethod.MinMax,
        extra_options=dict(extra_options or {}))


def op_counts(onnx_file: str) -> Dict[str, int]:
    """Operator type → count of a graph."""
    import onnx
    counts: Dict[str, int] = {}
    for node in onnx.load(onnx_file).graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return counts


#: Bundled people: ``name: (folder, annotation file)``.
BUNDLED_PEOPLE = dict(
    coco=('coco', 'test_coco.json'),
    coco_det=('coco', 'test_coco_det_AP_H_56.json'),
    crowdpose=('crowdpose', 'test_crowdpose.json'),
    mpii=('mpii', 'test_mpii.json'))

#: The int8 calibration people.
CALIBRATION_SETS = ('coco', 'crowdpose', 'mpii')
#: The parity people: the 118 bundled COCO detections (the goal), then
#: CrowdPose and MPII (reported).
PARITY_SETS = ('coco_det', 'crowdpose', 'mpii')


def bundled_boxes(name: str) -> Dict[str, np.ndarray]:
    """``{image path: (M, 4) float32 xyxy}`` of a bundled set: ``coco``,
    ``crowdpose`` (the annotated people's boxes), ``coco_det`` (the 118
    bundled detections) or ``mpii`` (``center`` ± ``scale`` x 100 px, the
    MPII person scale being the box height / 200)."""
    import json

    from simdr_ext.datasets import bundled_data_root
    folder, ann = BUNDLED_PEOPLE[name]
    with open(bundled_data_root(folder, ann)) as f:
        data = json.load(f)
    boxes: Dict[str, list] = {}
    if name == 'mpii':
        for ann in data:
            (cx, cy), half = ann['center'], ann['scale'] * 100.
            boxes.setdefault(ann['image'], []).append(
                [cx - half, cy - half, cx + half, cy + half])
    elif name == 'coco_det':
        for det in data:
            x, y, w, h = det['bbox']
            boxes.setdefault(f'{det["image_id"]:012d}.jpg', []).append(
                [x, y, x + w, y + h])
    else:
        files = {i['id']: i['file_name'] for i in data['images']}
        for ann in data['annotations']:
            x, y, w, h = ann['bbox']
            if not ann.get('iscrowd', 0) and w > 1 and h > 1:
                boxes.setdefault(files[ann['image_id']], []).append(
                    [x, y, x + w, y + h])
    return {bundled_data_root(folder, k): np.array(v, np.float32)
            for k, v in sorted(boxes.items())}


def bundled_crops(names: Sequence[str], input_size, padding: float = 1.25,
                  use_udp: bool = False) -> np.ndarray:
    """Float32 crops (N, 3, h, w), BGR 0-255, of the bundled people
    (:func:`bundled_boxes` of each name), cut as ``simdr_runtime`` cuts
    them for a model of input ``(w, h)`` ``input_size``."""
    from simdr_runtime.crops import (box_center_scale, crop_boxes,
                                     read_image, warp_matrices)
    crops = []
    for name in names:
        for path, boxes in bundled_boxes(name).items():
            center, scale = box_center_scale(boxes, input_size, padding)
            crops.append(crop_boxes(
                read_image(path),
                warp_matrices(center, scale, input_size, use_udp),
                input_size))
    return np.ascontiguousarray(
        np.concatenate(crops).transpose(0, 3, 1, 2), np.float32)


#: The options of the shipped int8 export (``quantize_int8``'s).
INT8_OPTIONS: Dict = dict(quant_format='QDQ', per_channel=True,
                          activation='uint8', reduce_range=True,
                          op_types=QUANT_OPS, float_depth=2)
