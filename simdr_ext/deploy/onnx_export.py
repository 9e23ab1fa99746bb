# Copyright (c) simdr_ext contributors. All rights reserved.
"""ONNX export of a top-down model with its decoder inside the graph.

The exported graph takes image crops as the data pipeline makes them
(``TopdownAffine`` output: BGR, float 0-255, shape (B, 3, h, w)), applies
the model's normalisation, runs backbone and head, and decodes with the
codec's torch twin (``decode_torch``), so its outputs are keypoints in crop
pixels (B, K, 2) and scores (B, K): no Python post-processing is needed.
"""
import json
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
from torch import Tensor, nn


PRECISIONS = ('fp32', 'fp16', 'fp16-naive')


class DecodedPoseModel(nn.Module):
    """Normalise → backbone → head (flip test) → ``decoder.decode_torch``.

    Args:
        model (nn.Module): An mmpose ``TopdownPoseEstimator`` whose head has
            a simdr_ext decoder (``SimDRLabel``, ``SASimDRLabel`` or
            ``DarkHeatmap``).
        flip_test (bool, optional): Put the flip test in the graph; ``None``
            follows the config's ``model.test_cfg.flip_test``. Defaults to
            ``False`` (the plain network).
        precision (str): ``'fp32'``; ``'fp16'``: backbone and head in
            float16, their outputs cast to float32 before the softmax,
            argmax and refinement; ``'fp16-naive'``: everything after the
            normalisation in float16, decoding included (for comparison).
            Defaults to ``'fp32'``.
        distributions (bool): Also output ``simcc_x``/``simcc_y`` (softmax
            over the bins) for SimDR heads. Defaults to ``False``.
    """

    def __init__(self,
                 model: nn.Module,
                 flip_test: Optional[bool] = False,
                 precision: str = 'fp32',
                 distributions: bool = False) -> None:
        super().__init__()
        from mmpose.structures import PoseDataSample
        decoder = getattr(model.head, 'decoder', None)
        if decoder is None or not hasattr(decoder, 'decode_torch'):
            raise ValueError(
                'export needs a head whose decoder has a torch twin '
                '(simdr_ext codecs: SimDRLabel, SASimDRLabel, DarkHeatmap); '
                f'got {type(decoder).__name__}')
        if precision not in PRECISIONS:
            raise ValueError(f'precision must be one of {PRECISIONS}, got '
                             f'{precision!r}')
        self.model = model
        self.decoder = decoder
        self.precision = precision
        self.distributions = distributions
        if flip_test is None:
            flip_test = bool((model.test_cfg or {}).get('flip_test', False))
        self.flip_test = bool(flip_test)
        pre = model.data_preprocessor
        self.register_buffer('mean', pre.mean.detach().clone().float().view(
            1, 3, 1, 1))
        self.register_buffer('std', pre.std.detach().clone().float().view(
            1, 3, 1, 1))
        self.bgr_to_rgb = bool(getattr(pre, '_channel_conversion', False))
        meta = model.dataset_meta or {}
        num_keypoints = int(meta.get('num_keypoints',
                                     model.head.out_channels))
        self.samples = [
            PoseDataSample(
                metainfo=dict(
                    flip_indices=list(
                        meta.get('flip_indices', range(num_keypoints))),
                    input_size=tuple(decoder.input_size)))
        ]

    def forward(self, crops: Tensor) -> Tuple[Tensor, ...]:
        """Crops (B, 3, h, w) BGR 0-255 → keypoints (B, K, 2) crop pixels,
        scores (B, K) (and, with ``distributions``, the x (B, K, Wx) and y
        (B, K, Wy) softmax)."""
        from simdr_ext.apis.inference import head_outputs
        x = crops.flip(1) if self.bgr_to_rgb else crops
        x = (x - self.mean) / self.std
        if self.precision != 'fp32':
            x = x.half()
        outputs = head_outputs(self.model, x, self.flip_test, self.samples)
        if not isinstance(outputs, (tuple, list)):
            outputs = (outputs, )
        if self.precision != 'fp16-naive':
            outputs = tuple(o.float() for o in outputs)
        keypoints, scores = self.decoder.decode_torch(*outputs)
        result = (keypoints.float(), scores.float())
        if self.distributions and len(outputs) == 2:
            result += tuple(o.softmax(-1).float() for o in outputs)
        return result

    def has_distributions(self) -> bool:
        """Whether :meth:`forward` returns the SimDR distributions."""
        return self.distributions and hasattr(self.decoder, 'num_bins')


def real_crops(cfg, image_folder: str, ann_file: str,
               max_crops: int = 8) -> np.ndarray:
    """Crops of annotated people through the config's test pipeline.

    Args:
        cfg (Config): The model config (its ``test_dataloader.dataset``
            pipeline gives the crops).
        image_folder (str): Folder of the images.
        ann_file (str): COCO-format annotation file.
        max_crops (int): At most this many crops (>= 1). Defaults to 8.

    Returns:
        np.ndarray: Float32 crops in shape (N, 3, h, w), BGR 0-255.
    """
    if int(max_crops) != max_crops or max_crops < 1:
        raise ValueError(f'max_crops must be a positive integer (crops to '
                         f'compare), got {max_crops!r}')
    from mmpose.registry import DATASETS
    dataset = DATASETS.build(
        dict(
            type='CheckedCocoDataset',
            data_root='',
            ann_file=ann_file,
            data_mode='topdown',
            data_prefix=dict(img=image_folder),
            test_mode=True,
            pipeline=cfg.test_dataloader.dataset.pipeline))
    if len(dataset) == 0:
        raise ValueError(f'{ann_file} has no person to crop')
    return np.stack([
        dataset[i]['inputs'].float().numpy()
        for i in range(min(int(max_crops), len(dataset)))
    ])


def export_metadata(model: nn.Module,
                    wrapper: DecodedPoseModel) -> Dict[str, str]:
    """What :class:`simdr_runtime.OnnxPoseRuntime` needs, JSON-encoded.

    Keys ``simdr.input_size`` ([w, h]), ``simdr.padding``,
    ``simdr.use_udp`` (the crop geometry of the test pipeline),
    ``simdr.flip_test`` (done inside the graph), ``simdr.num_keypoints``,
    ``simdr.precision``, ``simdr.decoder`` (codec type) and
    ``simdr.input`` (the input layout, for people reading the file).
    """
    from simdr_ext.apis.inference import crop_geometry
    geometry = crop_geometry(model.cfg)
    return {
        'simdr.input_size': json.dumps(list(geometry.input_size)),
        'simdr.padding': json.dumps(geometry.padding),
        'simdr.use_udp': json.dumps(geometry.use_udp),
        'simdr.flip_test': json.dumps(wrapper.flip_test),
        'simdr.num_keypoints': json.dumps(
            len(wrapper.samples[0].metainfo['flip_indices'])),
        'simdr.precision': json.dumps(wrapper.precision),
        'simdr.decoder': json.dumps(type(wrapper.decoder).__name__),
        'simdr.input': json.dumps('crops: float32 (B, 3, h, w), BGR 0-255, '
                                  'the TopdownAffine crop'),
    }


def export_onnx(model: nn.Module,
                out_file: str,
                input_size: Optional[Tuple[int, int]] = None,
                opset: int = 17,
                flip_test: Optional[bool] = False,
                precision: str = 'fp32',
                distributions: Optional[bool] = None) -> DecodedPoseModel:
    """Export ``model`` (eval mode, CPU) to ``out_file`` with metadata.

    Args:
        model (nn.Module): The pose model (from ``init_model``, with
            ``cfg``).
        out_file (str): The ``.onnx`` file.
        input_size (tuple, optional): Crop size ``(w, h)``; defaults to the
            codec's.
        opset (int): ONNX opset. Defaults to 17.
        flip_test (bool, optional): Flip test inside the graph; ``None``
            follows the config. Defaults to ``False``.
        precision (str): ``'fp32'``, ``'fp16'`` (network in float16,
            decoding in float32) or ``'fp16-naive'``. Defaults to
            ``'fp32'``.
        distributions (bool, optional): SimDR softmax outputs too;
            ``None``: for SimDR codecs. Defaults to ``None``.

    Returns:
        DecodedPoseModel: The exported wrapper (for comparisons; float32
        weights unless ``precision`` is fp16).
    """
    import copy

    import onnx
    model = model.cpu().eval()
    if precision != 'fp32':
        model = copy.deepcopy(model).half()
    if input_size is None:
        input_size = tuple(model.cfg.codec['input_size'])
    decoder = getattr(model.head, 'decoder', None)
    if distributions is None:
        distributions = hasattr(decoder, 'num_bins')
    wrapper = DecodedPoseModel(model, flip_test, precision,
                               distributions).eval()
    dummy = torch.rand(1, 3, input_size[1], input_size[0]) * 255
    names = ['keypoints', 'scores']
    if wrapper.has_distributions():
        names += ['simcc_x', 'simcc_y']
    with torch.no_grad():
        torch.onnx.export(
            wrapper, (dummy, ),
            out_file,
            input_names=['crops'],
            output_names=names,
            dynamic_axes=dict(crops={0: 'batch'},
                              **{n: {0: 'batch'} for n in names}),
            opset_version=opset,
            dynamo=False)
    proto = onnx.load(out_file)
    for key, value in export_metadata(model, wrapper).items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, out_file)
    return wrapper


def compare_with_onnxruntime(wrapper: DecodedPoseModel, onnx_file: str,
                             crops: np.ndarray) -> Dict[str, float]:
    """Run both on the same crops; return the largest differences.

    Args:
        wrapper (DecodedPoseModel): The PyTorch model that was exported.
        onnx_file (str): The exported file.
        crops (np.ndarray): Crops (N, 3, h, w), float32 BGR 0-255.

    Returns:
        dict: ``max_abs_keypoints`` (crop px) and ``max_abs_scores``.
    """
    import onnxruntime as ort
    session = ort.InferenceSession(
        onnx_file, providers=['CPUExecutionProvider'])
    ort_kpts, ort_scores = session.run(['keypoints', 'scores'],
                                       {'crops': crops})
    with torch.no_grad():
        kpts, scores = wrapper(torch.from_numpy(crops))[:2]
    return dict(
        max_abs_keypoints=float(np.abs(ort_kpts - kpts.numpy()).max()),
        max_abs_scores=float(np.abs(ort_scores - scores.numpy()).max()))


def load_pose_model(config: str, checkpoint: Optional[str],
                    device: str = 'cpu') -> nn.Module:
    """The pose model of a config and checkpoint (``None``: initial
    weights), built by mmpose's ``init_model``."""
    from mmpose.apis import init_model

    from ..engine import load_checked_checkpoint
    model = init_model(config, None, device=device)
    load_checked_checkpoint(model, checkpoint)
    return model


def export_and_check(config: str,
                     checkpoint: Optional[str],
                     out_file: str,
                     image_folder: str,
                     ann_file: str,
                     max_crops: int = 8,
                     flip_test: Optional[bool] = False,
                     precision: str = 'fp32') -> Dict[str, float]:
    """Build a model, export it and compare onnxruntime with PyTorch.

    Args:
        config (str): Model config.
        checkpoint (str, optional): Checkpoint (``weights_only`` load);
            ``None`` keeps random weights.
        out_file (str): The ``.onnx`` file.
        image_folder (str): Folder of the images for real crops.
        ann_file (str): COCO-format annotation file for real crops.
        max_crops (int): Number of crops compared (>= 1). Defaults to 8.
        flip_test (bool, optional): Flip test in the graph; ``None``
            follows the config. Defaults to ``False``.
        precision (str): See :func:`export_onnx`. Defaults to ``'fp32'``.

    Returns:
        dict: The differences of :func:`compare_with_onnxruntime` and
        ``num_crops``.
    """
    if int(max_crops) != max_crops or max_crops < 1:
        raise ValueError(f'max_crops must be a positive integer (crops to '
                         f'compare), got {max_crops!r}')
    model = load_pose_model(config, checkpoint)
    crops = real_crops(model.cfg, image_folder, ann_file, max_crops)
    wrapper = export_onnx(model, out_file, flip_test=flip_test,
                          precision=precision)
    result = compare_with_onnxruntime(wrapper, out_file, crops)
    result['num_crops'] = len(crops)
    return result


def run_onnx(onnx_file: str,
             crops: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Keypoints (N, K, 2) and scores (N, K) of float32 crops
    (N, 3, h, w) by onnxruntime on the CPU."""
    import onnxruntime as ort
    session = ort.InferenceSession(
        onnx_file, providers=['CPUExecutionProvider'])
    keypoints, scores = session.run(['keypoints', 'scores'],
                                    {'crops': crops})
    return keypoints, scores


def half_precision_parity(model: nn.Module,
                          crops: np.ndarray,
                          folder: str,
                          tolerance: float = 0.25,
                          flip_test: Optional[bool] = None) -> Dict:
    """How often float16 inference lands within ``tolerance`` input pixels
    of float32, for the fp16 export (network in float16, decoding in
    float32) and for a naive all-float16 graph.

    The three graphs are exported and run by onnxruntime on the CPU. Where
    onnxruntime has no CPU kernel for a float16 operator, the same wrapper
    runs in PyTorch instead (CPU float16), and ``backend`` says so.

    Args:
        model (nn.Module): The pose model (CPU, float32).
        crops (np.ndarray): Float32 crops (N, 3, h, w), BGR 0-255.
        folder (str): Where the ``.onnx`` files go.
        tolerance (float): Input pixels. Defaults to 0.25.
        flip_test (bool, optional): ``None`` follows the config.

    Returns:
        dict: ``fp16`` and ``fp16-naive`` fractions (of N x K keypoints),
        their largest deviation ``max_px_*``, the largest score difference
        ``max_score_diff_*``, ``num_keypoints`` and ``backend`` per
        precision.
    """
    import os.path as osp
    keypoints, scores, backend = {}, {}, {}
    for precision in PRECISIONS:
        out_file = osp.join(folder, f'{precision}.onnx')
        wrapper = export_onnx(model, out_file, flip_test=flip_test,
                              precision=precision, distributions=False)
        try:
            keypoints[precision], scores[precision] = run_onnx(
                out_file, crops)
            backend[precision] = 'onnxruntime CPU'
        except Exception as err:  # no float16 CPU kernel for an operator
            if 'NOT_IMPLEMENTED' not in str(err) and \
                    'Could not find an implementation' not in str(err):
                raise
            with torch.no_grad():
                out = wrapper(torch.from_numpy(crops))
            keypoints[precision], scores[precision] = (out[0].numpy(),
                                                       out[1].numpy())
            backend[precision] = 'PyTorch CPU (onnxruntime CPU has no ' \
                'float16 kernel for an operator of this graph)'
    ref = keypoints['fp32']
    result: Dict = dict(num_keypoints=int(ref.shape[0] * ref.shape[1]),
                        backend=backend, tolerance=tolerance)
    for precision in PRECISIONS[1:]:
        dist = np.linalg.norm(keypoints[precision] - ref, axis=-1)
        result[precision] = float(np.mean(dist <= tolerance))
        result[f'max_px_{precision}'] = float(dist.max())
        result[f'max_score_diff_{precision}'] = float(
            np.abs(scores[precision] - scores['fp32']).max())
    return result


__all__: List[str] = [
    'DecodedPoseModel', 'PRECISIONS', 'real_crops', 'export_metadata',
    'export_onnx', 'compare_with_onnxruntime', 'load_pose_model',
    'export_and_check', 'run_onnx', 'half_precision_parity'
]
