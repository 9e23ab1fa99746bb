# Copyright (c) simdr_ext contributors. All rights reserved.
"""ONNX export of a top-down model with its decoder inside the graph.

The graph takes crops as ``TopdownAffine`` makes them (BGR, float 0-255,
(B, 3, h, w)), normalises them, runs backbone and head (flip test
optional) and decodes with the codec's torch twin (``decode_torch``): its
outputs are keypoints (B, K, 2) in crop pixels and scores (B, K).
"""
import copy
import json
import os.path as osp
import shutil
import tempfile
from typing import Dict, Optional, Tuple, Union

import numpy as np
import torch
from mmengine.structures import InstanceData
from torch import Tensor, nn

from mmpose.structures import PoseDataSample
from simdr_runtime.engine import CropGeometry

PRECISIONS = ('fp32', 'fp16', 'fp16-naive', 'int8')


def crop_geometry(cfg) -> CropGeometry:
    """The crops of a top-down config's test pipeline: ``TopdownAffine``'s
    input size (else its data set's ``codec``'s, else the head decoder's)
    and ``use_udp``, and ``GetBBoxCenterScale``'s padding (mmpose's 1.25
    when absent)."""
    dataset = cfg.test_dataloader.dataset
    affine = [t for t in dataset.pipeline if t['type'] == 'TopdownAffine']
    boxes = [t for t in dataset.pipeline
             if t['type'] == 'GetBBoxCenterScale'] or [{}]
    size = affine and (affine[0].get('input_size') or (
        dataset.get('codec') or cfg.model.head.decoder).get('input_size'))
    if not size:
        raise ValueError('the config\'s test pipeline has no TopdownAffine '
                         'with an input size: not a top-down config')
    return CropGeometry(tuple(int(v) for v in size),
                        float(boxes[0].get('padding', 1.25)),
                        bool(affine[0].get('use_udp', False)))


def head_outputs(model: nn.Module, inputs: Tensor, flip_test: bool,
                 data_samples: list) -> Union[Tensor, Tuple[Tensor, ...]]:
    """The outputs of a ``TopdownPoseEstimator``'s head for normalised
    crops ``inputs`` (B, 3, h, w): heatmaps (B, K, H, W) or vectors
    (B, K, Wx), (B, K, Wy), averaged with the mirrored crops' if
    ``flip_test`` by the head's own ``predict`` (whose final ``decode`` is
    swapped, for the call, for a capture). ``data_samples``: B samples with
    ``flip_indices`` and ``input_size`` in their metainfo.
    """
    captured = []

    def capture(outputs):
        captured.append(outputs)
        n = len(outputs[0] if isinstance(outputs, (tuple, list)) else outputs)
        return [InstanceData() for _ in range(n)]

    test_cfg = dict(model.test_cfg or {}, flip_test=flip_test,
                    output_heatmaps=False)
    feats = model.extract_feat(inputs)
    if flip_test:
        feats = [feats, model.extract_feat(inputs.flip(-1))]
    model.head.decode = capture
    try:
        model.head.predict(feats, data_samples, test_cfg=test_cfg)
    finally:
        del model.head.decode
    return captured[0]


class DecodedPoseModel(nn.Module):
    """Normalise → backbone → head (flip test) → ``decoder.decode_torch``.

    Args:
        model (nn.Module): A ``TopdownPoseEstimator`` with a simdr_ext
            decoder (``SimDRLabel``, ``SASimDRLabel`` or ``DarkHeatmap``).
        flip_test (bool, optional): Flip test in the graph; ``None``
            follows ``model.test_cfg.flip_test``. Defaults to ``False``.
        precision (str): ``'fp32'``; ``'fp16'``: backbone and head in
            float16, decoding in float32; ``'fp16-naive'``: all float16.
            ``'int8'``: as ``'fp32'`` (the int8 graph is quantized from
            the float32 export by :func:`export_onnx`). Defaults to
            ``'fp32'``.
        distributions (bool): Also output the softmax ``simcc_x``
            (B, K, Wx) / ``simcc_y`` (B, K, Wy) of SimDR heads. Defaults to
            ``False``.
    """

    def __init__(self, model: nn.Module, flip_test: Optional[bool] = False,
                 precision: str = 'fp32', distributions: bool = False):
        super().__init__()
        decoder = getattr(model.head, 'decoder', None)
        if not hasattr(decoder, 'decode_torch'):
            raise ValueError(
                'export needs a head whose decoder has a torch twin '
                '(simdr_ext codecs: SimDRLabel, SASimDRLabel, DarkHeatmap); '
                f'got {type(decoder).__name__}')
        if precision not in PRECISIONS:
            raise ValueError(f'precision must be one of {PRECISIONS}, got '
                             f'{precision!r}')
        self.model, self.decoder, self.precision = model, decoder, precision
        self.distributions = distributions and hasattr(decoder, 'num_bins')
        if flip_test is None:
            flip_test = (model.test_cfg or {}).get('flip_test', False)
        self.flip_test = bool(flip_test)
        pre = model.data_preprocessor
        for name in ('mean', 'std'):
            self.register_buffer(name, getattr(pre, name).detach().clone()
                                 .float().view(1, 3, 1, 1))
        self.bgr_to_rgb = bool(getattr(pre, '_channel_conversion', False))
        meta = model.dataset_meta or {}
        flip_indices = list(meta.get('flip_indices',
                                     range(model.head.out_channels)))
        self.samples = [PoseDataSample(metainfo=dict(
            flip_indices=flip_indices, input_size=tuple(decoder.input_size)))]

    def forward(self, crops: Tensor) -> Tuple[Tensor, ...]:
        """Crops (B, 3, h, w) → keypoints (B, K, 2), scores (B, K)[, x and
        y softmax]."""
        x = (crops.flip(1) if self.bgr_to_rgb else crops) - self.mean
        x = x / self.std
        half = self.precision in ('fp16', 'fp16-naive')
        outputs = head_outputs(self.model, x.half() if half else x,
                               self.flip_test, self.samples)
        if not isinstance(outputs, (tuple, list)):
            outputs = (outputs, )
        if self.precision != 'fp16-naive':
            outputs = tuple(o.float() for o in outputs)
        keypoints, scores = self.decoder.decode_torch(*outputs)
        result = (keypoints.float(), scores.float())
        if self.distributions:
            result += tuple(o.softmax(-1).float() for o in outputs)
        return result


def export_onnx(model: nn.Module, out_file: str, opset: int = 17,
                flip_test: Optional[bool] = False, precision: str = 'fp32',
                distributions: Optional[bool] = None,
                calibration: Optional[np.ndarray] = None
                ) -> DecodedPoseModel:
    """Export ``model`` (an ``init_model`` result with ``cfg``; CPU, eval)
    to ``out_file`` (ONNX ``opset``, 17 by default) with the metadata
    ``simdr_runtime`` reads: ``simdr.`` ``input_size`` ([w, h]),
    ``padding``, ``use_udp``, ``flip_test``, ``num_keypoints``,
    ``precision``, ``decoder``, ``input`` and, when the model's
    ``dataset_meta`` has them, ``skeleton_links``. ``flip_test``, ``precision``
    and ``distributions`` (``None``: for SimDR codecs) are those of
    :class:`DecodedPoseModel`; it returns the exported wrapper (float32
    for ``'int8'``).

    ``'int8'``: the float32 graph is exported, then statically quantized
    by :func:`simdr_ext.deploy.quantize.quantize_int8` (its
    ``INT8_OPTIONS``), calibrated on ``calibration``: float32 crops
    (N, 3, h, w), BGR 0-255, of real people (e.g.
    :func:`simdr_ext.deploy.quantize.bundled_crops`); required for int8.
    """
    import onnx
    if precision == 'int8':
        from .quantize import INT8_OPTIONS, quantize_int8
        if calibration is None or len(calibration) == 0:
            raise ValueError('int8 export needs calibration crops '
                             '(N, 3, h, w) of real people')
        folder = tempfile.mkdtemp(prefix='simdr_int8_')
        try:
            fp32_file = osp.join(folder, 'fp32.onnx')
            wrapper = export_onnx(model, fp32_file, opset, flip_test,
                                  'fp32', distributions)
            quantize_int8(fp32_file, out_file, calibration, **INT8_OPTIONS)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return wrapper
    model = model.cpu().eval()
    if precision != 'fp32':
        model = copy.deepcopy(model).half()
    geometry = crop_geometry(model.cfg)
    wrapper = DecodedPoseModel(model, flip_test, precision,
                               distributions is not False).eval()
    w, h = geometry.input_size
    names = ['keypoints', 'scores'] + (['simcc_x', 'simcc_y']
                                       if wrapper.distributions else [])
    with torch.no_grad():
        torch.onnx.export(
            wrapper, (torch.rand(1, 3, h, w) * 255, ), out_file,
            input_names=['crops'], output_names=names,
            dynamic_axes={n: {0: 'batch'} for n in ['crops'] + names},
            opset_version=opset, dynamo=False)
    metadata: Dict = dict(
        input_size=list(geometry.input_size), padding=geometry.padding,
        use_udp=geometry.use_udp, flip_test=wrapper.flip_test,
        num_keypoints=len(wrapper.samples[0].metainfo['flip_indices']),
        precision=precision, decoder=type(wrapper.decoder).__name__,
        input='crops: float32 (B, 3, h, w), BGR 0-255, the TopdownAffine '
        'crop')
    links = (getattr(model, 'dataset_meta', None) or {}).get('skeleton_links')
    if links is not None and len(links):
        metadata['skeleton_links'] = [[int(i), int(j)] for i, j in links]
    proto = onnx.load(out_file)
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = f'simdr.{key}', json.dumps(value)
    onnx.save(proto, out_file)
    return wrapper
