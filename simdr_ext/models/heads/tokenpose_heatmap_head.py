# Copyright (c) simdr_ext contributors. All rights reserved.
from typing import List, Optional, Sequence, Tuple

import torch
from mmengine.structures import PixelData
from torch import Tensor, nn

from mmpose.models.utils.tta import flip_heatmaps
from mmpose.registry import MODELS
from mmpose.utils.typing import (ConfigType, InstanceList, OptConfigType,
                                 OptSampleList)
from .codec_head import CodecHead


def authors_hidden_dim(in_channels: int, heatmap_dim: int) -> Optional[int]:
    """Hidden width ``H W // 8`` of TokenPose's MLP head for tokens of
    length D = ``in_channels`` and ``heatmap_dim = H W``, or None for one
    layer: the authors' rule (``mlp_head`` of ``tokenpose_base.py``,
    ``hidden_heatmap_dim`` of ``pose_tokenpose_*.py``), two layers when
    ``D <= hidden / 2`` (D = 192, 64x48 map: 384, two; 16x16 map: one)."""
    hidden = heatmap_dim // 8
    return hidden if in_channels <= hidden * 0.5 else None


@MODELS.register_module()
class TokenPoseHeatmapHead(CodecHead):
    """TokenPose's MLP head: one heatmap per keypoint token.

    `TokenPose`_ (leeyegy/TokenPose ``ac939fa``, ``mlp_head`` of
    ``tokenpose_base.py``): ``LN(D) -> Linear(D, hidden) -> LN(hidden) ->
    Linear(hidden, H W)``, or ``LN(D) -> Linear(D, H W)`` by the authors'
    rule (:func:`authors_hidden_dim`), shared by all keypoints, reshaped to
    (B, K, H, W); layer names ``mlp_head.0`` .. ``.3`` are the authors'.
    The heatmap size ``(W, H)`` is the decoder's (``DarkHeatmap``).

    Note:
        - batch size: B, keypoints: K, token length: D
        - heatmap size: [W, H]

    Args:
        in_channels (int): Token length D (``TokenPose.out_channels``).
        out_channels (int): Number of keypoints K.
        decoder (dict): A heatmap codec (``DarkHeatmap``).
        hidden_dims (int, optional): Force a two-layer head with this
            width. Defaults to ``None``: the authors' rule.
        loss (dict, optional): Defaults to ``None``:
            ``dict(type='KeypointMSELoss', use_target_weight=True)``.
        init_cfg (dict, optional): Defaults to :attr:`default_init_cfg`.

    .. _`TokenPose`: https://arxiv.org/abs/2104.03516
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 decoder: ConfigType,
                 hidden_dims: Optional[int] = None,
                 loss: OptConfigType = None,
                 init_cfg: OptConfigType = None) -> None:
        super().__init__(decoder, loss,
                         dict(type='KeypointMSELoss', use_target_weight=True),
                         ('heatmap_size', ), init_cfg)
        self.heatmap_size = tuple(self.decoder.heatmap_size)
        self.in_channels, self.out_channels = in_channels, out_channels
        heatmap_dim = self.heatmap_size[0] * self.heatmap_size[1]
        if hidden_dims is None:
            hidden_dims = authors_hidden_dim(in_channels, heatmap_dim)
        self.hidden_dims = hidden_dims
        layers = [nn.LayerNorm(in_channels)]
        if hidden_dims:
            layers += [
                nn.Linear(in_channels, hidden_dims),
                nn.LayerNorm(hidden_dims)
            ]
        layers.append(nn.Linear(hidden_dims or in_channels, heatmap_dim))
        self.mlp_head = nn.Sequential(*layers)

    def forward(self, feats: Tuple[Tensor, ...]) -> Tensor:
        """Keypoint tokens (B, K, D), the last backbone output -> heatmaps
        (B, K, H, W)."""
        x = self.check_batch(feats)[-1]
        if tuple(x.shape[1:]) != (self.out_channels, self.in_channels):
            raise ValueError(
                f'{self.__class__.__name__} expects keypoint tokens of shape '
                f'(B, {self.out_channels}, {self.in_channels}), got '
                f'{tuple(x.shape)}')
        w, h = self.heatmap_size
        return self.mlp_head(x).reshape(x.shape[0], self.out_channels, h, w)

    def targets(self, samples: OptSampleList) -> Tuple[Tensor, Tensor]:
        """``gt_fields.heatmaps`` (B, K, H, W), ``keypoint_weights`` (B, K)."""
        return (torch.stack([d.gt_fields.heatmaps for d in samples]),
                torch.cat(
                    [d.gt_instance_labels.keypoint_weights for d in samples]))

    def flip_back(self, outputs: Tensor, flip_indices: Sequence[int],
                  test_cfg: dict) -> Tensor:
        """mmpose's :func:`flip_heatmaps` on (B, K, H, W), one pixel shift
        unless ``shift_heatmap=False`` (the authors' ``SHIFT_HEATMAP``)."""
        return flip_heatmaps(
            outputs,
            flip_indices=flip_indices,
            flip_mode=test_cfg.get('flip_mode', 'heatmap'),
            shift_heatmap=test_cfg.get('shift_heatmap', True))

    def with_distributions(self, preds: InstanceList,
                           outputs: Tensor) -> Tuple[InstanceList, List]:
        """``(preds, fields)``: ``PixelData.heatmaps`` (K, H, W) per sample,
        the (flip-averaged) predicted heatmaps the decoder read, in float32
        (``bfloat16`` has no numpy type for visualisers to read)."""
        return preds, [
            PixelData(heatmaps=hm) for hm in outputs.detach().float()
        ]

    @property
    def default_init_cfg(self) -> list:
        """The authors': Linear trunc-normal(0.02), bias 0; LayerNorm 1, 0."""
        return [
            dict(type='TruncNormal', layer='Linear', std=0.02, bias=0),
            dict(type='Constant', layer='LayerNorm', val=1, bias=0),
        ]
