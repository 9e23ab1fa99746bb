# Copyright (c) simdr_ext contributors. All rights reserved.
import math
from typing import Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from mmpose.models.heads import HeatmapHead
from mmpose.models.utils.tta import flip_vectors
from mmpose.registry import MODELS
from mmpose.utils.typing import (ConfigType, InstanceList, OptConfigType,
                                 OptSampleList)
from ...codecs.utils.backend import host_array
from .codec_head import CodecHead

OptIntSeq = Optional[Sequence[int]]
#: test_cfg ``flip_fusion`` values: how flipped outputs join the others
FLIP_FUSIONS = ('logits', 'softmax')
#: test_cfg ``flip_shift`` values: how flipped x vectors are realigned
FLIP_SHIFTS = ('exact', 'one_bin', 'none')


def shift_bins(vectors: Tensor, shift: float) -> Tensor:
    """Vectors (..., L) resampled at ``i + shift`` bins: linear, edge
    values beyond the ends."""
    length = vectors.shape[-1]
    pos = (torch.arange(length, device=vectors.device, dtype=torch.float32) +
           shift).clamp(0, length - 1)
    lo = pos.floor().long()
    hi = (lo + 1).clamp(max=length - 1)
    frac = (pos - lo.float()).to(vectors.dtype)
    return vectors[..., lo] * (1 - frac) + vectors[..., hi] * frac


def flip_simdr_vectors(simcc_x: Tensor,
                       simcc_y: Tensor,
                       flip_indices: Sequence[int],
                       input_width: int,
                       split_ratio: float,
                       flip_shift: str = 'exact') -> Tuple[Tensor, Tensor]:
    """Map SimDR outputs of a horizontally flipped crop back to the crop.

    Flipping a crop of width ``w`` moves pixel centre ``x`` to ``w - 1 - x``
    (mmpose's convention), bin ``x k`` to ``(w - 1 - x) k``; reversing ``L``
    bins maps bin ``j`` to ``L - 1 - j``, so the reversed vector peaks
    ``s = (L - 1) - (w - 1) k`` bins past the true bin (one bin for
    ``k = 2``, the authors' ``SHIFT_HEATMAP``) and is resampled at ``i + s``
    (:func:`shift_bins`, linear for a fractional ``s``): ``flip_shift=
    'exact'``. ``'one_bin'`` moves the reversed x vectors one bin left
    whatever ``k``, the last bin kept (the authors' ``TEST.SHIFT_HEATMAP``:
    SimCC ``lib/core/function.py`` l.124-126, l.320-322; exact for
    ``k = 2`` only); ``'none'`` leaves them (mmpose 1.3.2's ``SimCCHead``,
    ``mmpose/models/heads/coord_cls_heads/simcc_head.py`` predict).
    Reversal and the swap of keypoints by ``flip_indices`` are mmpose's
    ``flip_vectors``.

    Args:
        simcc_x (Tensor): x vectors of the flipped crop, shape (B, K, Wx).
        simcc_y (Tensor): y vectors of the flipped crop, shape (B, K, Wy).
        flip_indices (Sequence[int]): Index of each keypoint's mirror.
        input_width (int): Crop width ``w`` in pixels.
        split_ratio (float): The splitting factor ``k``.
        flip_shift (str): ``'exact'``, ``'one_bin'`` or ``'none'``.
            Defaults to ``'exact'``.

    Returns:
        tuple: x (B, K, Wx) and y (B, K, Wy) vectors of the unflipped crop.
    """
    check_flip_option('flip_shift', flip_shift, FLIP_SHIFTS)
    if len(flip_indices) != simcc_x.shape[1]:
        raise ValueError(f'flip_indices has {len(flip_indices)} entries but '
                         f'the vectors have {simcc_x.shape[1]} keypoints')
    x, y = flip_vectors(simcc_x, simcc_y, list(flip_indices))
    if flip_shift == 'one_bin':
        return torch.cat([x[..., 1:], x[..., -1:]], -1), y
    if flip_shift == 'none':
        return x, y
    shift = (x.shape[-1] - 1) - (input_width - 1) * split_ratio
    return shift_bins(x, shift) if shift else x, y


def fuse_flipped(outputs: Tuple[Tensor, ...], flipped: Tuple[Tensor, ...],
                 flip_fusion: str = 'logits') -> Tuple[Tensor, ...]:
    """Fuse SimDR vectors of the crops with the realigned vectors of the
    flipped crops.

    ``'logits'``: the mean of the two logit vectors (mmpose 1.3.2's
    ``SimCCHead``; the SimDR* authors', SimCC ``lib/core/function.py``
    l.127-128, which take the softmax of that mean). ``'softmax'``: the
    log of the mean of the two softmaxes, so that the softmax the decoder
    takes is that mean (the SimDR authors', l.324-325).

    Args:
        outputs (tuple): x (B, K, Wx) and y (B, K, Wy) vectors.
        flipped (tuple): Vectors of the flipped crops, same shapes.
        flip_fusion (str): ``'logits'`` or ``'softmax'``. Defaults to
            ``'logits'``.

    Returns:
        tuple: Fused x (B, K, Wx) and y (B, K, Wy) vectors.
    """
    check_flip_option('flip_fusion', flip_fusion, FLIP_FUSIONS)
    if flip_fusion == 'logits':
        return tuple((a + b) * 0.5 for a, b in zip(outputs, flipped))
    return tuple(
        log_mean_exp(a.log_softmax(-1), b.log_softmax(-1))
        for a, b in zip(outputs, flipped))


def log_mean_exp(a: Tensor, b: Tensor) -> Tensor:
    """``log((exp(a) + exp(b)) / 2)`` elementwise, without overflow or
    underflow and in operators ONNX exports (``-inf`` where both are)."""
    high = torch.maximum(a, b)
    step = torch.log1p(torch.exp(-(a - b).abs())) - math.log(2)
    # a == b (both -inf included): log((e^a + e^a) / 2) = a
    return torch.where(a == b, a, high + step)


def check_flip_option(key: str, value: str, choices: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else a ValueError
    naming the test_cfg ``key``."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f'SimDRHead got test_cfg {key}={value!r}: expected '
                         f'one of {", ".join(map(repr, choices))}')
    return value


def strided_size(size: int, stride: int) -> int:
    """Feature-map length of ``size`` input pixels at a power-of-2 stride:
    ``ceil(n / 2)`` per stride-2 stage, as mmpose's ResNet, MobileNetV2 and
    HRNet do at any size (64 px: 2 at stride 32, 16 at stride 4)."""
    if stride < 1 or stride & (stride - 1):
        raise ValueError(f'feature stride must be a power of 2, got {stride}')
    for _ in range(int(math.log2(stride))):
        size = (size + 1) // 2
    return size


@MODELS.register_module()
class SimDRHead(CodecHead):
    """SimDR head: one embedding per keypoint, two shared linear classifiers.

    Fig. 2 of `SimCC`_ (first published as SimDR): linear layers shared by
    all keypoints map each keypoint's embedding to ``Wx`` x and ``Wy`` y
    logits. Every encoder form of the paper:

    - **SimpleBaseline** (Table 2): deconvolutions and a 1x1 conv to K maps
      (``deconv_head``, an mmpose ``HeatmapHead``), ``D = (h/4) (w/4)``.
    - **Upsample-free** (Table 4): ``deconv_out_channels=None``,
      ``channels_per_joint=t``; a 1x1 conv (``final_layer``) to ``K t``
      maps, each keypoint's ``t`` maps flattened together,
      ``D = t (h/32) (w/32)`` (the authors' ``'b (k t) h w -> b k (t h w)'``;
      ``t = 28`` gives their ``HEAD_INPUT = 1344`` at 256x192).
    - **HRNet** (Sec. 4.1.1): ``deconv_out_channels=None``,
      ``in_featuremap_stride=4``: the 1x1 conv on the stride-4 branch.
    - **Token embeddings** (TokenPose, Sec. 4.1.1): ``embedding_dim=D``,
      ``deconv_out_channels=None``: (B, K, D) tokens, only the linear layers.

    The decoder gives ``input_size`` ``(w, h)``, ``split_ratio`` ``k`` and
    the bin counts, and with ``in_featuremap_stride`` (:func:`strided_size`)
    the flattened length: no config computes a map size (mmpose's
    ``SimCCHead`` on HRNet: open-mmlab/mmpose#2118). Parameter names are
    ``SimCCHead``'s: its checkpoints of the same architecture load.

    Test settings (the model's ``test_cfg``, checked in :meth:`predict`):
    ``flip_test``; ``flip_shift`` (:func:`flip_simdr_vectors`: ``'exact'``,
    ``'one_bin'`` or ``'none'``, default ``'exact'``); ``flip_fusion``
    (:func:`fuse_flipped`: ``'logits'`` or ``'softmax'``, default
    ``'logits'``); ``output_heatmaps``.

    Note:
        - batch size: B, keypoint number: K, embedding length: D
        - input size: [w, h], splitting factor: k
        - Wx = round(w * k), Wy = round(h * k)

    Args:
        in_channels (int, optional): Channels of the backbone's last map;
            ``None`` or ``embedding_dim`` for token input.
        out_channels (int): Number of keypoints K.
        decoder (dict): A SimDR codec (``SimDRLabel``, ``SASimDRLabel``).
        in_featuremap_stride (int): 32 for ResNet and MobileNetV2, 4 for
            HRNet. Defaults to 32.
        deconv_out_channels (Sequence[int], optional): ``None`` or ``()``
            for none. Defaults to ``(256, 256, 256)``.
        deconv_kernel_sizes (Sequence[int], optional): Defaults to
            ``(4, 4, 4)``.
        channels_per_joint (int): ``t``. Defaults to 1.
        embedding_dim (int, optional): D of (B, K, D) token input. Defaults
            to ``None`` (feature-map input).
        loss (dict, optional): ``None`` for ``SoftLabelCELoss``. Defaults to
            ``None``.
        init_cfg (dict, optional): Defaults to :attr:`default_init_cfg`.

    .. _`SimCC`: https://arxiv.org/abs/2107.03332
    """

    def __init__(self,
                 in_channels: Optional[int],
                 out_channels: int,
                 decoder: ConfigType,
                 in_featuremap_stride: int = 32,
                 deconv_out_channels: OptIntSeq = (256, 256, 256),
                 deconv_kernel_sizes: OptIntSeq = (4, 4, 4),
                 channels_per_joint: int = 1,
                 embedding_dim: Optional[int] = None,
                 loss: OptConfigType = None,
                 init_cfg: OptConfigType = None) -> None:
        super().__init__(decoder, loss,
                         dict(type='SoftLabelCELoss', use_target_weight=True),
                         ('split_ratio', 'num_bins'), init_cfg)
        self.input_size = tuple(self.decoder.input_size)
        self.split_ratio = self.decoder.split_ratio
        self.in_channels, self.out_channels = in_channels, out_channels
        deconvs = tuple(deconv_out_channels or ())
        self.token_input = embedding_dim is not None
        self.deconv_head = self.final_layer = self.featuremap_size = None
        self._check_args(in_channels, embedding_dim, deconvs,
                         channels_per_joint)
        if self.token_input:
            self.embedding_dim = int(embedding_dim)
        else:
            self.featuremap_size = tuple(
                strided_size(s, in_featuremap_stride) * 2**len(deconvs)
                for s in self.input_size)
            if deconvs:
                self.deconv_head = HeatmapHead(
                    in_channels,
                    out_channels,
                    deconv_out_channels=deconvs,
                    deconv_kernel_sizes=deconv_kernel_sizes,
                    final_layer=dict(kernel_size=1))
            else:
                self.final_layer = nn.Conv2d(in_channels,
                                             out_channels * channels_per_joint,
                                             1)
            self.embedding_dim = channels_per_joint * math.prod(
                self.featuremap_size)
        self.mlp_head_x, self.mlp_head_y = (
            nn.Linear(self.embedding_dim, n) for n in self.decoder.num_bins)

    def _check_args(self, in_channels: Optional[int],
                    embedding_dim: Optional[int], deconvs: Tuple[int, ...],
                    t: int) -> None:
        """Refuse argument combinations that describe no encoder form."""
        tokens = self.token_input
        rules = (
            (t < 1, f'channels_per_joint={t}: must be >= 1'),
            (not tokens and in_channels is None,
             "in_channels=None: give the backbone's channels, or "
             'embedding_dim for (B, K, D) token input'),
            (not tokens and deconvs and t != 1,
             f'channels_per_joint={t} with deconvolutions: t > 1 is the '
             'upsample-free design; it takes no deconvolutions'),
            (tokens and embedding_dim < 1,
             f'embedding_dim={embedding_dim}: must be >= 1'),
            (tokens and in_channels not in (None, embedding_dim),
             f'in_channels={in_channels} and embedding_dim={embedding_dim}: '
             'with token input in_channels is D; leave it None or equal'),
            (tokens and (deconvs or t != 1),
             f'embedding_dim={embedding_dim} (token input) with '
             f'deconv_out_channels={deconvs} and channels_per_joint={t}: '
             'tokens take no convolutional part; set '
             'deconv_out_channels=None and channels_per_joint=1'))
        problem = next((msg for bad, msg in rules if bad), None)
        if problem:
            raise ValueError(f'SimDRHead got {problem}')

    def embed(self, feats: Tuple[Tensor, ...]) -> Tensor:
        """Keypoint embeddings (B, K, D) of the last feature: a map
        (B, C, h', w'), or (B, K, D) tokens with ``embedding_dim``."""
        x = feats[-1]
        if self.token_input:
            if x.dim() != 3 or tuple(
                    x.shape[1:]) != (self.out_channels, self.embedding_dim):
                raise ValueError(
                    f'SimDRHead expects tokens of shape (B, '
                    f'{self.out_channels}, {self.embedding_dim}) (K = '
                    f'out_channels, D = embedding_dim), got {tuple(x.shape)}')
            return x
        if x.dim() != 4:
            raise ValueError(
                f'SimDRHead expects a (B, C, H, W) feature map, got shape '
                f'{tuple(x.shape)}; for (B, K, D) keypoint tokens build the '
                'head with embedding_dim=D and deconv_out_channels=None')
        x = self.deconv_head(feats) if self.deconv_head else self.final_layer(
            x)
        b, _, h, w = x.shape
        if (w, h) != self.featuremap_size:
            raise ValueError(
                f'SimDRHead expects a {self.featuremap_size[0]}x'
                f'{self.featuremap_size[1]} (w x h) map for input_size '
                f'{self.input_size}, got {w}x{h}: check the decoder\'s '
                'input_size and in_featuremap_stride against the backbone')
        # channel k t + j belongs to keypoint k: 'b (k t) h w -> b k (t h w)'
        return x.reshape(b, self.out_channels, -1)

    def forward(self, feats: Tuple[Tensor, ...]) -> Tuple[Tensor, Tensor]:
        """Backbone outputs (last (B, C, h', w') or (B, K, D)) -> x logits
        (B, K, Wx) and y logits (B, K, Wy)."""
        emb = self.embed(self.check_batch(feats))
        return self.mlp_head_x(emb), self.mlp_head_y(emb)

    def targets(self, batch_data_samples: OptSampleList) -> tuple:
        """``keypoint_x_labels`` (B, K, Wx), ``keypoint_y_labels``
        (B, K, Wy) and ``keypoint_weights`` (B, K) of the batch."""
        labels = [d.gt_instance_labels for d in batch_data_samples]
        gt = (torch.cat([lb.keypoint_x_labels for lb in labels]),
              torch.cat([lb.keypoint_y_labels for lb in labels]))
        return gt, torch.cat([lb.keypoint_weights for lb in labels])

    def check_test_cfg(self, test_cfg: dict) -> None:
        """``flip_fusion`` (:data:`FLIP_FUSIONS`) and ``flip_shift``
        (:data:`FLIP_SHIFTS`), when given, must be known values."""
        for key, choices in (('flip_fusion', FLIP_FUSIONS),
                             ('flip_shift', FLIP_SHIFTS)):
            if key in test_cfg:
                check_flip_option(key, test_cfg[key], choices)

    def flip_back(self, outputs: tuple, flip_indices: Sequence[int],
                  test_cfg: dict) -> Tuple[Tensor, Tensor]:
        """:func:`flip_simdr_vectors` on (B, K, Wx), (B, K, Wy), with
        test_cfg ``flip_shift`` (default ``'exact'``)."""
        return flip_simdr_vectors(*outputs, flip_indices, self.input_size[0],
                                  self.split_ratio,
                                  test_cfg.get('flip_shift', 'exact'))

    def fuse_flip(self, outputs: tuple, flipped: tuple,
                  test_cfg: dict) -> Tuple[Tensor, Tensor]:
        """:func:`fuse_flipped` with test_cfg ``flip_fusion`` (default
        ``'logits'``)."""
        return fuse_flipped(outputs, flipped,
                            test_cfg.get('flip_fusion', 'logits'))

    def with_distributions(self, preds: InstanceList,
                           outputs: tuple) -> InstanceList:
        """Adds ``keypoint_x_probs`` (1, K, Wx) and ``keypoint_y_probs``
        (1, K, Wy), the softmax probability of each bin (float32, computed
        in float32 whatever the outputs' dtype), to each sample."""
        probs_x, probs_y = (
            host_array(o.float().softmax(-1)) for o in outputs)
        for pred, px, py in zip(preds, probs_x, probs_y):
            pred.keypoint_x_probs, pred.keypoint_y_probs = px[None], py[None]
        return preds

    @property
    def default_init_cfg(self) -> list:
        return [
            dict(
                type='Normal', layer=['Conv2d', 'ConvTranspose2d'], std=0.001),
            dict(type='Constant', layer='BatchNorm2d', val=1),
            dict(type='Normal', layer=['Linear'], std=0.01, bias=0),
        ]
