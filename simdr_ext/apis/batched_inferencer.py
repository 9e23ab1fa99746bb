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
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
from torch import Tensor, nn

from mmpose.structures import PoseDataSample
from simdr_ext.deploy import crop_geometry, head_outputs
from simdr_runtime.engine import run_topdown


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

        from mmpose.apis import init_model
        from simdr_ext.apis import BatchedTopdownInferencer

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
        pre = model.data_preprocessor
        self.mean = pre.mean.detach().view(1, 3, 1, 1).to(self.device)
        self.std = pre.std.detach().view(1, 3, 1, 1).to(self.device)
        self.bgr_to_rgb = bool(getattr(pre, '_channel_conversion', False))
        self.decoder = getattr(model.head, 'decoder', None)

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
