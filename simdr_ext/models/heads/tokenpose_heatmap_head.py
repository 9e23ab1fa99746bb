# Copyright (c) simdr_ext contributors. All rights reserved.
from typing import Optional, Tuple

import torch
from mmengine.structures import PixelData
from torch import Tensor, nn

from mmpose.models.heads.base_head import BaseHead
from mmpose.models.utils.tta import flip_heatmaps
from mmpose.registry import KEYPOINT_CODECS, MODELS
from mmpose.utils.typing import (ConfigType, Features, OptConfigType,
                                 OptSampleList, Predictions)
from ..utils import decoded_pck_accuracy


def authors_hidden_dim(in_channels: int, heatmap_dim: int) -> Optional[int]:
    """Hidden width of TokenPose's MLP head, or None for a single layer.

    The authors' rule (``tokenpose_base.py``, ``mlp_head``, with
    ``hidden_heatmap_dim = H * W // 8`` from ``pose_tokenpose_*.py``): two
    layers when ``in_channels <= hidden / 2``, else one. E.g. D = 192 and a
    64x48 map give 3072 // 8 = 384 >= 2 * 192: two layers; a 16x16 map gives
    32: one; TokenPose-L's 576 fused channels: one.

    Args:
        in_channels (int): Token length D.
        heatmap_dim (int): ``H * W``.

    Returns:
        int | None: ``heatmap_dim // 8``, or None for one layer.
    """
    hidden = heatmap_dim // 8
    return hidden if in_channels <= hidden * 0.5 else None


@MODELS.register_module()
class TokenPoseHeatmapHead(BaseHead):
    """TokenPose's MLP head: one heatmap per keypoint token.

    `TokenPose`_ (leeyegy/TokenPose ``ac939fa``, ``mlp_head`` of
    ``tokenpose_base.py``): ``LN(D) -> Linear(D, hidden) -> LN(hidden) ->
    Linear(hidden, H W)``, or ``LN(D) -> Linear(D, H W)`` when the authors'
    rule (:func:`authors_hidden_dim`) picks one layer, shared by all
    keypoints, reshaped to (B, K, H, W). The heatmap size ``(W, H)`` is the
    decoder's (``DarkHeatmap``), which also decodes. Layer names
    (``mlp_head.0`` .. ``mlp_head.3``) are the authors'.

    Note:
        - batch size: B, keypoints: K, token length: D
        - heatmap size: [W, H]

    Args:
        in_channels (int): Token length D (``TokenPose.out_channels``).
        out_channels (int): Number of keypoints K.
        decoder (dict): Config of a heatmap codec with ``heatmap_size``.
        hidden_dims (int, optional): Force a two-layer head with this
            width. Defaults to ``None``: the authors' rule.
        loss (dict, optional): Loss config. Defaults to ``None``:
            ``dict(type='KeypointMSELoss', use_target_weight=True)``.
        init_cfg (dict, optional): Initialisation. Defaults to
            :attr:`default_init_cfg`.

    .. _`TokenPose`: https://arxiv.org/abs/2104.03516
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 decoder: ConfigType,
                 hidden_dims: Optional[int] = None,
                 loss: OptConfigType = None,
                 init_cfg: OptConfigType = None) -> None:
        super().__init__(init_cfg or self.default_init_cfg)
        self.decoder = KEYPOINT_CODECS.build(decoder)
        if not all(
                hasattr(self.decoder, a)
                for a in ('heatmap_size', 'input_size', 'decode_torch')):
            raise ValueError(
                f'{self.__class__.__name__} got decoder '
                f'{type(self.decoder).__name__}: it needs a heatmap codec '
                '(DarkHeatmap) with heatmap_size, input_size, decode_torch')
        self.heatmap_size = tuple(self.decoder.heatmap_size)
        self.in_channels = in_channels
        self.out_channels = out_channels
        heatmap_dim = self.heatmap_size[0] * self.heatmap_size[1]
        if hidden_dims is None:
            hidden_dims = authors_hidden_dim(in_channels, heatmap_dim)
        self.hidden_dims = hidden_dims
        self.loss_module = MODELS.build(
            loss or dict(type='KeypointMSELoss', use_target_weight=True))
        layers = [nn.LayerNorm(in_channels)]
        if hidden_dims:
            layers += [
                nn.Linear(in_channels, hidden_dims),
                nn.LayerNorm(hidden_dims)
            ]
        layers.append(nn.Linear(hidden_dims or in_channels, heatmap_dim))
        self.mlp_head = nn.Sequential(*layers)

    def forward(self, feats: Tuple[Tensor, ...]) -> Tensor:
        """Heatmaps from keypoint tokens.

        Args:
            feats (Tuple[Tensor]): Backbone outputs; the last holds the
                keypoint tokens in shape (B, K, D).

        Returns:
            Tensor: Heatmaps in shape (B, K, H, W).
        """
        x = feats[-1]
        name = self.__class__.__name__
        if len(x) == 0:
            raise ValueError(f'{name} got a batch of 0 crops (tokens of shape '
                             f'{tuple(x.shape)}): call it with B >= 1 crops')
        if x.dim() != 3 or tuple(
                x.shape[1:]) != (self.out_channels, self.in_channels):
            raise ValueError(f'{name} expects keypoint tokens of shape (B, '
                             f'{self.out_channels}, {self.in_channels}), got '
                             f'{tuple(x.shape)}')
        w, h = self.heatmap_size
        return self.mlp_head(x).reshape(x.shape[0], self.out_channels, h, w)

    def predict(self,
                feats: Features,
                batch_data_samples: OptSampleList,
                test_cfg: OptConfigType = None) -> Predictions:
        """Predict keypoints, with optional flip test.

        With ``test_cfg['flip_test']`` the features are ``[orig, flipped]``;
        the flipped heatmaps are mirrored, their symmetric keypoints swapped
        and, with ``shift_heatmap`` (default ``True``, the authors'
        ``TEST.SHIFT_HEATMAP``), shifted one pixel right (mmpose's
        :func:`flip_heatmaps`), then averaged with the original ones.

        Args:
            feats (Tuple[Tensor] | List[Tuple[Tensor]]): Backbone outputs,
                or two of them for flip test.
            batch_data_samples (List[PoseDataSample]): The data samples.
            test_cfg (dict, optional): ``flip_test``, ``flip_mode``,
                ``shift_heatmap``, ``output_heatmaps``. Defaults to ``None``.

        Returns:
            List[InstanceData] | tuple: ``keypoints`` (1, K, 2) in input
            pixels and ``keypoint_scores`` (1, K) per sample; with
            ``output_heatmaps`` also one ``PixelData`` per sample whose
            ``heatmaps`` (K, H, W) are the (flip-averaged) predicted
            Gaussian heatmaps the decoder read.
        """
        test_cfg = test_cfg or {}
        if test_cfg.get('flip_test', False):
            assert isinstance(feats, list) and len(feats) == 2, (
                'flip test needs [features, flipped features]')
            flipped = flip_heatmaps(
                self.forward(feats[1]),
                flip_indices=batch_data_samples[0].metainfo['flip_indices'],
                flip_mode=test_cfg.get('flip_mode', 'heatmap'),
                shift_heatmap=test_cfg.get('shift_heatmap', True))
            heatmaps = (self.forward(feats[0]) + flipped) * 0.5
        else:
            heatmaps = self.forward(feats)
        preds = self.decode(heatmaps)
        if test_cfg.get('output_heatmaps', False):
            return preds, [PixelData(heatmaps=hm) for hm in heatmaps.detach()]
        return preds

    def loss(self,
             feats: Tuple[Tensor, ...],
             batch_data_samples: OptSampleList,
             train_cfg: OptConfigType = None) -> dict:
        """MSE loss on heatmaps and, with ``compute_acc``, PCK accuracy.

        Args:
            feats (Tuple[Tensor]): Backbone outputs, tokens (B, K, D) last.
            batch_data_samples (List[PoseDataSample]): Samples with
                ``gt_fields.heatmaps`` (K, H, W) and
                ``gt_instance_labels.keypoint_weights`` (1, K).
            train_cfg (dict, optional): ``compute_acc`` (bool, default
                ``True``). Defaults to ``None``.

        Returns:
            dict: ``loss_kpt`` and, with ``compute_acc``, ``acc_pose``
            (:func:`decoded_pck_accuracy`).
        """
        train_cfg = train_cfg or {}
        pred = self.forward(feats)
        gt = torch.stack([d.gt_fields.heatmaps for d in batch_data_samples])
        weights = torch.cat([
            d.gt_instance_labels.keypoint_weights for d in batch_data_samples
        ])
        losses = dict(loss_kpt=self.loss_module(pred, gt, weights))
        if train_cfg.get('compute_acc', True):
            losses['acc_pose'] = decoded_pck_accuracy(self.decoder, pred, gt,
                                                      weights)
        return losses

    @property
    def default_init_cfg(self) -> list:
        """The authors' ``_init_weights``: Linear trunc-normal(0.02), bias 0;
        LayerNorm 1 / 0."""
        return [
            dict(type='TruncNormal', layer='Linear', std=0.02, bias=0),
            dict(type='Constant', layer='LayerNorm', val=1, bias=0),
        ]
