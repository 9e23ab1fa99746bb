# Copyright (c) simdr_ext contributors. All rights reserved.
from typing import Sequence, Tuple, Union

import numpy as np
import torch
from torch import Tensor

from mmpose.evaluation.functional import keypoint_pck_accuracy
from mmpose.models.heads.base_head import BaseHead
from mmpose.registry import KEYPOINT_CODECS, MODELS
from mmpose.utils.typing import (ConfigType, Features, OptConfigType,
                                 OptSampleList, Predictions)
from ...codecs.utils.backend import host_array

Outputs = Union[Tensor, Tuple[Tensor, ...]]


class CodecHead(BaseHead):
    """Base of the heads whose geometry, targets and decoding are a codec's.

    Builds the ``decoder`` (config) first, refusing one without
    ``input_size``, ``decode_torch`` and the attributes the subclass reads
    (``needs``), and the ``loss`` (``None``: ``default_loss``); runs
    ``predict`` and ``loss`` for a subclass that defines ``forward``,
    :meth:`targets`, :meth:`flip_back` and :meth:`with_distributions`. Not
    registered.
    """

    def __init__(self, decoder: ConfigType, loss: OptConfigType,
                 default_loss: ConfigType, needs: Sequence[str],
                 init_cfg: OptConfigType) -> None:
        super().__init__(init_cfg or self.default_init_cfg)
        self.decoder = KEYPOINT_CODECS.build(decoder)
        needs = ('input_size', *needs, 'decode_torch')
        if not all(hasattr(self.decoder, a) for a in needs):
            raise ValueError(
                f'{self.__class__.__name__} got decoder '
                f'{type(self.decoder).__name__}: it needs a codec with '
                f'{", ".join(needs)}')
        self.loss_module = MODELS.build(loss or default_loss)

    def check_batch(self, feats: Tuple[Tensor, ...]) -> Tuple[Tensor, ...]:
        """Refuse a batch of 0 crops by name, before any layer sees it."""
        if len(feats[-1]) == 0:
            raise ValueError(
                f'{self.__class__.__name__} got a batch of 0 crops (features '
                f'of shape {tuple(feats[-1].shape)}): give B >= 1 crops')
        return feats

    def targets(self, samples: OptSampleList) -> Tuple[Outputs, Tensor]:
        """Targets shaped as ``forward``'s outputs, and weights (B, K)."""
        raise NotImplementedError

    def flip_back(self, outputs: Outputs, flip_indices: Sequence[int],
                  test_cfg: dict) -> Outputs:
        """Outputs of flipped crops mapped onto the unflipped crops."""
        raise NotImplementedError

    def with_distributions(self, preds: Predictions,
                           outputs: Outputs) -> Predictions:
        """``preds`` with the distributions of ``output_heatmaps``."""
        raise NotImplementedError

    def check_test_cfg(self, test_cfg: dict) -> None:
        """Refuse test settings the head does not know how to apply
        (nothing by default)."""

    def fuse_flip(self, outputs: Outputs, flipped: Outputs,
                  test_cfg: dict) -> Outputs:
        """Outputs of the crops fused with those of the flipped crops
        (after :meth:`flip_back`): their mean by default, per tensor."""
        if isinstance(outputs, tuple):
            return tuple((a + b) * 0.5 for a, b in zip(outputs, flipped))
        return (outputs + flipped) * 0.5

    def predict(self,
                feats: Features,
                batch_data_samples: OptSampleList,
                test_cfg: OptConfigType = None) -> Predictions:
        """``keypoints`` (1, K, 2) in input pixels and ``keypoint_scores``
        (1, K) per sample, decoded by the decoder. ``test_cfg``:
        ``flip_test`` (``feats`` is ``[orig, flipped]``; flipped outputs go
        through :meth:`flip_back` and are fused with the others by
        :meth:`fuse_flip`), ``output_heatmaps`` (:meth:`with_distributions`),
        flip settings (checked by :meth:`check_test_cfg`)."""
        test_cfg = test_cfg or {}
        self.check_test_cfg(test_cfg)
        if test_cfg.get('flip_test', False):
            assert isinstance(feats, list) and len(feats) == 2, (
                'flip test needs [features, flipped features]')
            outputs = self.forward(feats[0])
            flipped = self.flip_back(
                self.forward(feats[1]),
                batch_data_samples[0].metainfo['flip_indices'], test_cfg)
            outputs = self.fuse_flip(outputs, flipped, test_cfg)
        else:
            outputs = self.forward(feats)
        preds = self.decode(outputs)
        if test_cfg.get('output_heatmaps', False):
            return self.with_distributions(preds, outputs)
        return preds

    def loss(self,
             feats: Tuple[Tensor, ...],
             batch_data_samples: OptSampleList,
             train_cfg: OptConfigType = None) -> dict:
        """``loss_kpt`` and, unless ``train_cfg['compute_acc']`` is False,
        ``acc_pose``: PCK at 0.05 of the keypoints the decoder
        (``decode_torch``, refinement included) reads from the outputs,
        against those it reads from the targets, in input pixels. The
        input-space ground truth is not in the sample (``gt_instances``
        holds image-space keypoints; a random rotation is not in the
        metainfo), and targets decode to it within the codec's rounding
        (``1 / (2k)`` px for SimDR), far below the threshold. As mmpose's
        ``simcc_pck_accuracy`` / ``pose_pck_accuracy``: distances over
        ``[h, w]``, mean over keypoints with weight > 0.
        """
        pred = self.forward(feats)
        target, weights = self.targets(batch_data_samples)
        losses = dict(loss_kpt=self.loss_module(pred, target, weights))
        if (train_cfg or {}).get('compute_acc', True):
            with torch.no_grad():
                pred_kpts, gt_kpts = (
                    host_array(
                        self.decoder.decode_torch(
                            *(out if isinstance(out, tuple) else (out, )))[0])
                    for out in (pred, target))
            w, h = self.decoder.input_size
            norm = np.tile(np.array([[h, w]], np.float32), (len(weights), 1))
            _, acc, _ = keypoint_pck_accuracy(pred_kpts, gt_kpts,
                                              host_array(weights) > 0, 0.05,
                                              norm)
            losses['acc_pose'] = torch.tensor(
                acc, dtype=torch.float32, device=weights.device)
        return losses
