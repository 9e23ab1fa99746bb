# Copyright (c) simdr_ext contributors. All rights reserved.
from typing import Sequence, Tuple, Union

import numpy as np
import torch
from torch import Tensor

from mmpose.evaluation.functional import keypoint_pck_accuracy
from mmpose.models.heads.base_head import BaseHead
from mmpose.registry import KEYPOINT_CODECS, MODELS
from mmpose.utils.tensor_utils import to_numpy
from mmpose.utils.typing import (ConfigType, Features, OptConfigType,
                                 OptSampleList, Predictions)

Outputs = Union[Tensor, Tuple[Tensor, ...]]


class CodecHead(BaseHead):
    """Base of the heads whose geometry, targets and decoding are a codec's.

    Builds the ``decoder`` first (the subclass reads its sizes from it) and
    refuses one without the attributes the subclass needs; builds the loss;
    and runs ``predict`` (flip test, decoding, optional distributions) and
    ``loss`` (loss, optional accuracy) for a subclass that defines
    ``forward``, :meth:`targets`, :meth:`flip_back` and
    :meth:`with_distributions`. It is not registered.

    Args:
        decoder (dict): Codec config.
        loss (dict, optional): Loss config; ``None`` for ``default_loss``.
        default_loss (dict): The subclass's default loss config.
        needs (Sequence[str]): Decoder attributes the subclass reads.
        init_cfg (dict, optional): Initialisation config; ``None`` for
            :attr:`default_init_cfg`.
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

    def targets(self,
                batch_data_samples: OptSampleList) -> Tuple[Outputs, Tensor]:
        """The batch's targets (shaped as ``forward``'s outputs) and
        keypoint weights (B, K)."""
        raise NotImplementedError

    def flip_back(self, outputs: Outputs, flip_indices: Sequence[int],
                  test_cfg: dict) -> Outputs:
        """Outputs of flipped crops, mapped back onto the unflipped crops."""
        raise NotImplementedError

    def with_distributions(self, preds: Predictions,
                           outputs: Outputs) -> Predictions:
        """``preds`` with the distributions of ``output_heatmaps``."""
        raise NotImplementedError

    def predict(self,
                feats: Features,
                batch_data_samples: OptSampleList,
                test_cfg: OptConfigType = None) -> Predictions:
        """Predict keypoints, with optional flip test.

        With ``test_cfg['flip_test']`` the features are ``[orig, flipped]``;
        the flipped outputs go through :meth:`flip_back` and are averaged
        with the original ones before decoding.

        Args:
            feats (Tuple[Tensor] | List[Tuple[Tensor]]): Backbone outputs,
                or two of them for flip test.
            batch_data_samples (List[PoseDataSample]): The data samples.
            test_cfg (dict, optional): ``flip_test`` and ``output_heatmaps``
                (bool each), and the subclass's flip settings. Defaults to
                ``None``.

        Returns:
            List[InstanceData] | tuple: ``keypoints`` (1, K, 2) in input
            pixels and ``keypoint_scores`` (1, K) per sample; with
            ``output_heatmaps``, see :meth:`with_distributions`.
        """
        test_cfg = test_cfg or {}
        if test_cfg.get('flip_test', False):
            assert isinstance(feats, list) and len(feats) == 2, (
                'flip test needs [features, flipped features]')
            outputs = self.forward(feats[0])
            flipped = self.flip_back(
                self.forward(feats[1]),
                batch_data_samples[0].metainfo['flip_indices'], test_cfg)
            if isinstance(outputs, tuple):
                outputs = tuple(
                    (a + b) * 0.5 for a, b in zip(outputs, flipped))
            else:
                outputs = (outputs + flipped) * 0.5
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
        """Loss and, with ``train_cfg['compute_acc']`` (default ``True``),
        PCK accuracy of a batch.

        The accuracy decodes predictions and targets with the head's
        decoder (``decode_torch``), so it measures the keypoints the model
        outputs (refinement included), in input pixels. The reference is the
        decoded target: the input-space keypoints that ``GenerateTarget``
        encoded are not in the data sample (``gt_instances`` holds
        image-space ones; a random rotation cannot be undone from the
        metainfo), and they decode back within the codec's rounding
        (``1 / (2k)`` px for SimDR), far below the threshold. As mmpose's
        ``simcc_pck_accuracy`` / ``pose_pck_accuracy``: distances divided by
        ``[h, w]``, PCK at 0.05, mean over keypoints with weight > 0
        (``keypoint_pck_accuracy``).

        Args:
            feats (Tuple[Tensor]): Backbone outputs.
            batch_data_samples (List[PoseDataSample]): Samples with the
                codec's targets (:meth:`targets`).
            train_cfg (dict, optional): ``compute_acc`` (bool). Defaults to
                ``None``.

        Returns:
            dict: ``loss_kpt`` and, with ``compute_acc``, ``acc_pose``.
        """
        train_cfg = train_cfg or {}
        pred = self.forward(feats)
        target, weights = self.targets(batch_data_samples)
        losses = dict(loss_kpt=self.loss_module(pred, target, weights))
        if train_cfg.get('compute_acc', True):
            with torch.no_grad():
                pred_kpts, gt_kpts = (
                    to_numpy(
                        self.decoder.decode_torch(
                            *(out if isinstance(out, tuple) else (out, )))[0])
                    for out in (pred, target))
            w, h = self.decoder.input_size
            norm = np.tile(np.array([[h, w]], np.float32), (len(weights), 1))
            _, acc, _ = keypoint_pck_accuracy(pred_kpts, gt_kpts,
                                              to_numpy(weights) > 0, 0.05,
                                              norm)
            losses['acc_pose'] = torch.tensor(
                acc, dtype=torch.float32, device=weights.device)
        return losses
