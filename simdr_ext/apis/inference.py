# Copyright (c) simdr_ext contributors. All rights reserved.
"""Batched top-down inference with a PyTorch model.

Same keypoints as mmpose's ``inference_topdown`` (same crops, same
network, same flip test, same back-projection), without its per-box Python
pipeline: each image is read once, all its boxes are warped with matrices
built together (:mod:`simdr_runtime.crops`), the crops go through the model
``batch_size`` at a time, and the decoder's torch twin (``decode_torch``)
decodes on the model's device. The flip test is the head's own
``predict`` (so every head flips its outputs as it does in mmpose); only its
final ``decode`` call is taken over.
"""
import contextlib
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import Tensor, nn

from simdr_runtime.engine import CropGeometry, run_topdown


def crop_geometry(cfg) -> CropGeometry:
    """The crop geometry of a config's test pipeline.

    Args:
        cfg (Config): A top-down config with ``test_dataloader``.

    Returns:
        CropGeometry: ``TopdownAffine``'s input size and ``use_udp``, and
        ``GetBBoxCenterScale``'s padding (1.25 when absent, mmpose's
        default).
    """
    pipeline = cfg.test_dataloader.dataset.pipeline
    affine = [t for t in pipeline if t['type'] == 'TopdownAffine']
    if not affine:
        raise ValueError('the config\'s test pipeline has no TopdownAffine: '
                         'not a top-down config')
    boxes = [t for t in pipeline if t['type'] == 'GetBBoxCenterScale']
    padding = boxes[0].get('padding', 1.25) if boxes else 1.25
    size = tuple(int(v) for v in affine[0]['input_size'])
    return CropGeometry(size, float(padding),
                        bool(affine[0].get('use_udp', False)))


class _CapturedOutputs:
    """Stands in for ``head.decode``: keeps the (flip-averaged) outputs."""

    def __init__(self) -> None:
        self.outputs = None

    def __call__(self, batch_outputs):
        self.outputs = batch_outputs
        n = len(batch_outputs[0] if isinstance(batch_outputs, (tuple, list))
                else batch_outputs)
        from mmengine.structures import InstanceData
        return [InstanceData() for _ in range(n)]


def head_outputs(model: nn.Module, inputs: Tensor, flip_test: bool,
                 data_samples: list) -> Union[Tensor, Tuple[Tensor, ...]]:
    """Backbone, neck and head (with flip test) of normalised inputs.

    The head's own ``predict`` runs (mirroring, keypoint swapping, shifts
    and averaging exactly as in mmpose's ``TopdownPoseEstimator``); its
    ``decode`` is replaced for the call by a function that keeps the
    averaged outputs.

    Args:
        model (nn.Module): A ``TopdownPoseEstimator``.
        inputs (Tensor): Normalised crops (B, 3, h, w).
        flip_test (bool): Average with the mirrored crops.
        data_samples (list): B data samples with ``flip_indices`` and
            ``input_size`` in their metainfo.

    Returns:
        Tensor | tuple: What the head's ``forward`` returns, flip-averaged:
        heatmaps (B, K, H, W) or x/y vectors (B, K, Wx), (B, K, Wy).
    """
    head = model.head
    test_cfg = dict(model.test_cfg or {})
    test_cfg.update(flip_test=flip_test, output_heatmaps=False)
    feats = model.extract_feat(inputs)
    if flip_test:
        feats = [feats, model.extract_feat(inputs.flip(-1))]
    capture = _CapturedOutputs()
    head.decode = capture
    try:
        head.predict(feats, data_samples, test_cfg=test_cfg)
    finally:
        del head.decode
    return capture.outputs


class BatchedTopdownInferencer:
    """Top-down keypoints of many boxes over many images, in batches.

    Args:
        model (nn.Module): An mmpose ``TopdownPoseEstimator`` (from
            ``mmpose.apis.init_model``) with ``cfg`` and ``dataset_meta``.
        batch_size (int): Crops per forward pass. Defaults to 8.
        flip_test (bool, optional): Flip test; ``None`` follows the
            config's ``model.test_cfg.flip_test``. Defaults to ``None``.
        fp16 (bool): Run backbone and head under CUDA autocast (float16);
            the decoding (softmax, argmax, refinement) stays float32.
            Needs a CUDA model. Defaults to ``False``.

    Example::

        model = init_model(config, checkpoint, device='cuda')
        infer = BatchedTopdownInferencer(model, batch_size=32)
        results = infer(['a.jpg', 'b.jpg'], [boxes_a, boxes_b])
        results[0]['keypoints']  # (M, K, 2) image pixels
    """

    def __init__(self,
                 model: nn.Module,
                 batch_size: int = 8,
                 flip_test: Optional[bool] = None,
                 fp16: bool = False) -> None:
        from mmpose.structures import PoseDataSample
        if not hasattr(model, 'head') or not hasattr(model, 'cfg'):
            raise TypeError('model must be a top-down pose model from '
                            'mmpose.apis.init_model, got '
                            f'{type(model).__name__}')
        self.model = model.eval()
        self.geometry = crop_geometry(model.cfg)
        self.batch_size = batch_size
        test_cfg = model.test_cfg or {}
        self.flip_test = bool(test_cfg.get('flip_test', False)
                              if flip_test is None else flip_test)
        self.device = next(model.parameters()).device
        if fp16 and not (torch.cuda.is_available()
                         and self.device.type == 'cuda'):
            raise ValueError(
                'fp16=True needs a CUDA model (torch autocast float16); on '
                'CPU export an fp16 ONNX model and use simdr_runtime')
        self.fp16 = fp16
        meta = model.dataset_meta or {}
        self.num_keypoints = int(meta.get('num_keypoints',
                                          model.head.out_channels))
        self._meta = dict(
            flip_indices=list(meta.get('flip_indices',
                                       range(self.num_keypoints))),
            input_size=self.geometry.input_size)
        self._samples: List = []
        self._sample_cls = PoseDataSample
        pre = model.data_preprocessor
        self.mean = pre.mean.detach().view(1, 3, 1, 1).to(self.device)
        self.std = pre.std.detach().view(1, 3, 1, 1).to(self.device)
        self.bgr_to_rgb = bool(getattr(pre, '_channel_conversion', False))
        self.decoder = getattr(model.head, 'decoder', None)

    @classmethod
    def from_config(cls,
                    config,
                    checkpoint: Optional[str] = None,
                    device: str = 'cpu',
                    **kwargs) -> 'BatchedTopdownInferencer':
        """Build the model with mmpose's ``init_model`` and wrap it.

        Args:
            config (str | Config): Pose config.
            checkpoint (str, optional): Checkpoint; ``None`` keeps the
                initial weights.
            device (str): Device. Defaults to ``'cpu'``.
            **kwargs: :class:`BatchedTopdownInferencer` arguments.
        """
        import simdr_ext  # noqa: F401  (registers the modules)
        from mmpose.apis import init_model
        model = init_model(config, checkpoint, device=device)
        return cls(model, **kwargs)

    def samples(self, n: int) -> list:
        """``n`` data samples carrying what heads read at test time."""
        while len(self._samples) < n:
            self._samples.append(self._sample_cls(metainfo=self._meta))
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
        autocast = torch.autocast('cuda', dtype=torch.float16) \
            if self.fp16 else contextlib.nullcontext()
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
        """Keypoints of every box of every image.

        Args:
            images (str | np.ndarray | Sequence): One image (path or BGR
                uint8 array (H, W, 3)) or a list of them; each is read
                once.
            boxes: (M, 4) xyxy boxes for one image, or a list with one
                such array per image (``None`` or empty: nobody there).
            return_distributions (bool): Also return the SimDR 1D
                distributions ``simcc_x`` (M, K, Wx) and ``simcc_y``
                (M, K, Wy). Defaults to ``False``.

        Returns:
            list[dict]: Per image ``bboxes`` (M, 4), ``keypoints``
            (M, K, 2) in image pixels and ``keypoint_scores`` (M, K).
        """
        return run_topdown(
            images, boxes, self.geometry, self.batch_size,
            lambda crops: self.infer_crops(crops, return_distributions),
            self.num_keypoints)


def batch_inference_topdown(model: nn.Module,
                            images,
                            boxes,
                            batch_size: int = 8,
                            flip_test: Optional[bool] = None,
                            return_distributions: bool = False
                            ) -> List[Dict]:
    """One-call form of :class:`BatchedTopdownInferencer`.

    Args:
        model (nn.Module): A top-down model from ``init_model``.
        images: One image or a list (paths or BGR arrays).
        boxes: (M, 4) xyxy boxes, or one such array per image.
        batch_size (int): Crops per forward pass. Defaults to 8.
        flip_test (bool, optional): ``None`` follows the config.
        return_distributions (bool): SimDR 1D distributions too.

    Returns:
        list[dict]: Per image ``bboxes``, ``keypoints`` (M, K, 2),
        ``keypoint_scores`` (M, K).
    """
    return BatchedTopdownInferencer(model, batch_size, flip_test)(
        images, boxes, return_distributions)


__all__: Sequence[str] = [
    'BatchedTopdownInferencer', 'batch_inference_topdown', 'crop_geometry',
    'head_outputs'
]
