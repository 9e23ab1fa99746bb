# Copyright (c) simdr_ext contributors. All rights reserved.
"""Batched top-down inference with a PyTorch model.

:class:`BatchedTopdownInferencer` gives the keypoints of mmpose's
``inference_topdown`` (same crops, same network, same flip test, same
back-projection), without its per-box Python pipeline: each image is read
once, all its boxes are warped with matrices built together
(:mod:`simdr_runtime.crops`), the crops go through the model
``batch_size`` at a time, and the decoder's torch twin (``decode_torch``)
decodes on the model's device. The flip test is the head's own
``predict`` (so every head flips its outputs as it does in mmpose); only
its final ``decode`` call is taken over.
"""
import contextlib
import warnings
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
from torch import Tensor, nn

from mmpose.structures import PoseDataSample
from simdr_ext.deploy import crop_geometry, head_outputs
from simdr_runtime.engine import run_topdown
from .batch_size import auto_batch_size

#: What ``precision`` takes.
PRECISIONS = ('fp32', 'bf16', 'fp16')
_DTYPES = dict(bf16=torch.bfloat16, fp16=torch.float16)


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively, as torch reports it:
    oneDNN's bf16 kernels are usable
    (``torch.ops.mkldnn._is_mkldnn_bf16_supported()``: AVX-512 BW/VL/DQ or
    Arm bf16) and the CPU has bf16 instructions
    (``torch.cpu.get_capabilities()``: ``avx512_bf16``, ``amx_bf16`` or,
    on Arm, ``bf16`` / ``sve_bf16``). Without them PyTorch still runs
    bfloat16, emulated, slower than float32."""
    if not torch.ops.mkldnn._is_mkldnn_bf16_supported():
        return False
    caps = torch.cpu.get_capabilities() if hasattr(
        torch.cpu, 'get_capabilities') else {}
    return any(
        caps.get(k) for k in ('avx512_bf16', 'amx_bf16', 'bf16', 'sve_bf16'))


def check_precision(precision: str, device: torch.device,
                    allow_emulated_bf16: bool = False) -> None:
    """Refuse a precision the device cannot run well, with the reason.

    Args:
        precision (str): One of :data:`PRECISIONS`.
        device (torch.device): The model's device.
        allow_emulated_bf16 (bool): Accept ``'bf16'`` on a CPU without
            native bf16 (same numerics, slower than float32).

    Raises:
        ValueError: For an unknown precision, ``'fp16'`` off CUDA,
            ``'bf16'`` on a GPU without bf16 or a CPU without native bf16.
    """
    if precision not in PRECISIONS:
        raise ValueError(f'precision must be one of {PRECISIONS}, got '
                         f'{precision!r}')
    if precision == 'fp16' and device.type != 'cuda':
        raise ValueError(
            f"precision='fp16' needs a CUDA model (torch autocast float16), "
            f'the model is on {device}; on CPU export an fp16 ONNX model '
            'and use simdr_runtime')
    if precision != 'bf16':
        return
    if device.type == 'cuda':
        if not torch.cuda.is_bf16_supported():
            raise ValueError(
                f"precision='bf16': {torch.cuda.get_device_name(device)} "
                'has no bfloat16 (torch.cuda.is_bf16_supported() is False); '
                "use precision='fp16'")
    elif device.type == 'cpu':
        if not (cpu_has_native_bf16() or allow_emulated_bf16):
            raise ValueError(
                "precision='bf16' on CPU needs native bfloat16 (AVX512-BF16 "
                'or AMX on x86); this CPU has none '
                '(torch.ops.mkldnn._is_mkldnn_bf16_supported() = '
                f'{torch.ops.mkldnn._is_mkldnn_bf16_supported()}, CPU '
                f'capability {torch.backends.cpu.get_cpu_capability()}), '
                'so bfloat16 would run emulated, slower than float32; use '
                "precision='fp32'")
    else:
        raise ValueError(f"precision='bf16' runs on CPU or CUDA, the model "
                         f'is on {device}')


class BatchedTopdownInferencer:
    """Top-down keypoints of many boxes over many images, in batches.

    Args:
        model (nn.Module): An mmpose ``TopdownPoseEstimator`` (from
            ``mmpose.apis.init_model``) with ``cfg`` and ``dataset_meta``.
        batch_size (int, optional): Crops per forward pass; crops of
            consecutive images share a batch, only the last batch of a call
            is smaller (never padded). ``None``: the device's default,
            :func:`~simdr_ext.apis.batch_size.auto_batch_size` (8 on the
            CPU; on CUDA the size that fills the GPU, measured at the first
            use and cached). Defaults to ``None``.
        flip_test (bool, optional): Flip test; ``None`` follows the
            config's ``model.test_cfg.flip_test``. Defaults to ``None``.
        precision (str): ``'fp32'``; ``'bf16'`` or ``'fp16'``: backbone and
            head under torch autocast in that type, the decoding (softmax,
            argmax, refinement) in float32 on ``.float()`` outputs.
            ``'fp16'`` needs a CUDA model; ``'bf16'`` a CUDA GPU with
            bfloat16 or a CPU with native bfloat16 (see
            :func:`check_precision`). Defaults to ``'fp32'``.
        fp16 (bool, optional): Deprecated: ``fp16=True`` is
            ``precision='fp16'``.
        allow_emulated_bf16 (bool): Run ``'bf16'`` on a CPU without native
            bfloat16 anyway (the same numerics, slower than float32: for
            studies of the numerics). Defaults to ``False``.
        channels_last (bool, optional): Convert the model's weights to the
            channels-last memory format (in place; the values do not
            change). ``None``: on the CPU only, where oneDNN's
            channels-last convolutions are as fast or faster (measured in
            :mod:`simdr_ext.apis.batch_size`). Defaults to ``None``.

    Example::

        from mmpose.apis import init_model
        from simdr_ext.apis import BatchedTopdownInferencer

        model = init_model(config, checkpoint, device='cuda')
        infer = BatchedTopdownInferencer(model, batch_size=32)
        results = infer(['a.jpg', 'b.jpg'], [boxes_a, boxes_b])
        results[0]['keypoints']  # (M, K, 2) image pixels
    """

    def __init__(self,
                 model: nn.Module,
                 batch_size: Optional[int] = None,
                 flip_test: Optional[bool] = None,
                 precision: str = 'fp32',
                 fp16: Optional[bool] = None,
                 allow_emulated_bf16: bool = False,
                 channels_last: Optional[bool] = None) -> None:
        if not hasattr(model, 'head') or not hasattr(model, 'cfg'):
            raise TypeError('model must be a top-down pose model from '
                            'mmpose.apis.init_model, got '
                            f'{type(model).__name__}')
        if fp16 is not None:
            warnings.warn(
                "fp16 is deprecated: use precision='fp16' (or 'fp32')",
                DeprecationWarning, stacklevel=2)
            if fp16 and precision not in ('fp32', 'fp16'):
                raise ValueError(f'fp16=True contradicts precision='
                                 f'{precision!r}')
            precision = 'fp16' if fp16 else precision
        self.model = model.eval()
        self.geometry = crop_geometry(model.cfg)
        self._batch_size = batch_size
        test_cfg = model.test_cfg or {}
        self.flip_test = bool(test_cfg.get('flip_test', False)
                              if flip_test is None else flip_test)
        self.device = next(model.parameters()).device
        check_precision(precision, self.device, allow_emulated_bf16)
        self.precision = precision
        if channels_last is None:
            channels_last = self.device.type == 'cpu'
        if channels_last:
            model.to(memory_format=torch.channels_last)
        self.channels_last = bool(channels_last)
        meta = model.dataset_meta or {}
        self.num_keypoints = int(meta.get('num_keypoints',
                                          model.head.out_channels))
        self._meta = dict(
            flip_indices=list(meta.get('flip_indices',
                                       range(self.num_keypoints))),
            input_size=self.geometry.input_size)
        self._samples: List = []
        pre = model.data_preprocessor
        self.mean = pre.mean.detach().view(1, 3, 1, 1).to(self.device)
        self.std = pre.std.detach().view(1, 3, 1, 1).to(self.device)
        self.bgr_to_rgb = bool(getattr(pre, '_channel_conversion', False))
        self.decoder = getattr(model.head, 'decoder', None)

    @property
    def fp16(self) -> bool:
        """Whether the network runs in float16 (``precision='fp16'``)."""
        return self.precision == 'fp16'

    @property
    def batch_size(self) -> int:
        """Crops per forward pass (the default resolved at first use)."""
        if self._batch_size is None:
            self._batch_size = auto_batch_size(self)
        return self._batch_size

    @batch_size.setter
    def batch_size(self, value: Optional[int]) -> None:
        self._batch_size = value

    def samples(self, n: int) -> list:
        """``n`` data samples carrying what heads read at test time."""
        while len(self._samples) < n:
            self._samples.append(PoseDataSample(metainfo=self._meta))
        return self._samples[:n]

    def preprocess(self, crops: np.ndarray) -> Tensor:
        """uint8 BGR crops (B, h, w, 3) → normalised (B, 3, h, w) on the
        model's device (mmpose's ``PoseDataPreprocessor`` arithmetic)."""
        x = torch.from_numpy(crops).to(self.device).permute(0, 3, 1, 2)
        if self.bgr_to_rgb:
            x = x[:, [2, 1, 0]]
        return (x.float() - self.mean) / self.std

    def outputs(self, crops: np.ndarray):
        """Flip-averaged head outputs (float32) of uint8 crops."""
        inputs = self.preprocess(crops)
        autocast = contextlib.nullcontext() if self.precision == 'fp32' \
            else torch.autocast(self.device.type,
                                dtype=_DTYPES[self.precision])
        with autocast:
            out = head_outputs(self.model, inputs, self.flip_test,
                               self.samples(len(crops)))
        if isinstance(out, (tuple, list)):
            return tuple(o.float() for o in out)
        return out.float()

    def decode(self, out) -> Tuple[Tensor, Tensor]:
        """Keypoints (B, K, 2) in crop pixels and scores (B, K)."""
        args = out if isinstance(out, tuple) else (out, )
        if hasattr(self.decoder, 'decode_torch'):
            return self.decoder.decode_torch(*args)
        # an mmpose codec: its own (host) decoding, as the head calls it
        preds = self.model.head.decode(out)
        kpts = np.concatenate([p.keypoints for p in preds])
        scores = np.concatenate([p.keypoint_scores for p in preds])
        return torch.from_numpy(kpts), torch.from_numpy(scores)

    @torch.no_grad()
    def infer_crops(self, crops: np.ndarray,
                    return_distributions: bool = False
                    ) -> Dict[str, np.ndarray]:
        """Keypoints of uint8 BGR crops (B, h, w, 3) in crop pixels.

        Returns:
            dict: ``keypoints`` (B, K, 2), ``keypoint_scores`` (B, K) and,
            on request for SimDR models, ``simcc_x`` (B, K, Wx) and
            ``simcc_y`` (B, K, Wy), the softmax over the bins.
        """
        out = self.outputs(crops)
        kpts, scores = self.decode(out)
        result = dict(
            keypoints=kpts.float().cpu().numpy(),
            keypoint_scores=scores.float().cpu().numpy())
        if return_distributions:
            if not (isinstance(out, tuple) and len(out) == 2
                    and out[0].ndim == 3):
                raise ValueError('return_distributions needs a SimDR/SimCC '
                                 'model (x and y vectors)')
            result['simcc_x'] = out[0].softmax(-1).cpu().numpy()
            result['simcc_y'] = out[1].softmax(-1).cpu().numpy()
        return result

    def __call__(self,
                 images,
                 boxes,
                 return_distributions: bool = False) -> List[Dict]:
        """Keypoints of every box of every image: the call of
        :class:`simdr_runtime.OnnxPoseRuntime` (same arguments, same
        results) with this PyTorch model; each image is read once.

        Returns:
            list[dict]: Per image ``bboxes`` (M, 4), ``keypoints`` (M, K, 2)
            in image pixels, ``keypoint_scores`` (M, K) and, with
            ``return_distributions``, ``simcc_x`` (M, K, Wx) and
            ``simcc_y`` (M, K, Wy).
        """
        return run_topdown(
            images, boxes, self.geometry, self.batch_size,
            lambda crops: self.infer_crops(crops, return_distributions),
            self.num_keypoints)


def batch_inference_topdown(model: nn.Module,
                            images,
                            boxes,
                            batch_size: Optional[int] = None,
                            flip_test: Optional[bool] = None,
                            return_distributions: bool = False,
                            precision: str = 'fp32') -> List[Dict]:
    """One-call form of :class:`BatchedTopdownInferencer`.

    Args:
        model (nn.Module): A top-down model from ``init_model``.
        images: One image or a list (paths or BGR arrays).
        boxes: (M, 4) xyxy boxes, or one such array per image.
        batch_size (int, optional): Crops per forward pass; ``None``: the
            device's default. Defaults to ``None``.
        flip_test (bool, optional): ``None`` follows the config.
        return_distributions (bool): SimDR 1D distributions too.
        precision (str): ``'fp32'``, ``'bf16'`` or ``'fp16'`` (see
            :class:`BatchedTopdownInferencer`). Defaults to ``'fp32'``.

    Returns:
        list[dict]: Per image ``bboxes``, ``keypoints`` (M, K, 2),
        ``keypoint_scores`` (M, K).
    """
    return BatchedTopdownInferencer(
        model, batch_size, flip_test, precision=precision)(
            images, boxes, return_distributions)
