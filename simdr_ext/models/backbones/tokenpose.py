# Copyright (c) simdr_ext contributors. All rights reserved.
"""TokenPose: keypoint tokens read out by a transformer (arXiv 2104.03516).

Ported from leeyegy/TokenPose at commit ``ac939fa``
(https://github.com/leeyegy/TokenPose/blob/ac939fa/lib/models/tokenpose_base.py
and ``pose_tokenpose_{t,s,b,l}.py``) in timm's order: blocks, then
:class:`TokenPose`; its parameter names load the converted checkpoints.
"""
import math
from collections import OrderedDict
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from torch import Tensor, nn

from mmpose.models.backbones.base_backbone import BaseBackbone
from mmpose.models.backbones.hrnet import HRNet
from mmpose.models.backbones.resnet import get_expansion
from mmpose.registry import MODELS
from mmpose.utils.typing import ConfigType, OptConfigType, OptMultiConfig

STEMS, POS_EMBEDS = ('pure', 'resnet', 'hrnet'), ('sine', 'learnable', 'none')
#: TokenPose-S's stem-net (``TokenPose_S_base``): two 3x3 stride-2 convs and
#: 4 Bottlenecks (64 -> 256), i.e. HRNet's stem and stage 1
RESNET_STEM = dict(
    stage1=dict(
        num_modules=1,
        num_branches=1,
        block='BOTTLENECK',
        num_blocks=(4, ),
        num_channels=(64, )))


class Attention(nn.Module):
    """Multi-head self-attention with the authors' two scales.

    ``softmax(q k^T * scale) v`` per head via
    :func:`~torch.nn.functional.scaled_dot_product_attention` (as timm's
    ``Attention``) with the authors' scale ``dim ** -0.5`` (TokenPose-S) or
    ``(dim // heads) ** -0.5`` (T, B, L: ``scale_with_head``). ``qkv`` has
    no bias and splits as ``(3, heads, head_dim)``, the authors'
    ``to_qkv(x).chunk(3)`` + ``'b n (h d) -> b h n d'``.

    Args:
        embed_dims (int): Token length D.
        num_heads (int): Number of heads; must divide D. Defaults to 8.
        scale_with_head (bool): See above. Defaults to ``False``.
        drop_rate (float): Dropout after the projection. Defaults to 0.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int = 8,
                 scale_with_head: bool = False,
                 drop_rate: float = 0.) -> None:
        super().__init__()
        assert embed_dims % num_heads == 0, (
            f'embed_dims ({embed_dims}) must be divisible by num_heads '
            f'({num_heads})')
        self.num_heads = num_heads
        self.head_dims = embed_dims // num_heads
        self.scale = (self.head_dims if scale_with_head else embed_dims)**-0.5
        self.qkv = nn.Linear(embed_dims, embed_dims * 3, bias=False)
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.proj_drop = nn.Dropout(drop_rate)

    def forward(self, x: Tensor) -> Tensor:
        """Tokens (B, N, D) -> (B, N, D)."""
        b, n, d = x.shape
        # (B, N, 3 D) -> (3, B, heads, N, head_dims)
        q, k, v = self.qkv(x).reshape(b, n, 3, self.num_heads,
                                      self.head_dims).permute(2, 0, 3, 1,
                                                              4).unbind(0)
        x = F.scaled_dot_product_attention(q, k, v, scale=self.scale)
        return self.proj_drop(self.proj(x.transpose(1, 2).reshape(b, n, d)))


def sine_position_encoding(h: int,
                           w: int,
                           dim: int,
                           temperature: float = 10000.,
                           scale: float = 2 * math.pi) -> Tensor:
    """Fixed 2D sine position encoding of an ``h x w`` token grid.

    The authors' ``_make_sine_position_embedding`` (after DETR), with
    ``F = dim // 2`` features per direction, rows / columns from 1:
    ``y = r / (h + 1e-6) * scale``, ``x = c / (w + 1e-6) * scale``;
    ``t_i = temperature ** (2 (i // 2) / F)``; ``pos_y[2j] = sin(y /
    t_2j)``, ``pos_y[2j+1] = cos(y / t_2j+1)``, ``pos_x`` likewise; token
    ``(r, c)`` (row-major) gets ``cat(pos_y, pos_x)``.

    Args:
        h (int): Rows of the token grid.
        w (int): Columns of the token grid.
        dim (int): Encoding length, a multiple of 4.
        temperature (float): The frequency base. Defaults to 10000.
        scale (float): Range of the normalised positions. Defaults to 2 pi.

    Returns:
        Tensor: float32 encoding in shape (1, h * w, dim).
    """
    # sin / cos pairs for each of y and x
    assert dim % 4 == 0, f'sine encoding: dim {dim} is not divisible by 4'
    feats = dim // 2
    i = torch.arange(feats, dtype=torch.float32)
    dim_t = temperature**(2 * torch.div(i, 2, rounding_mode='floor') / feats)

    def encode(n: int) -> Tensor:  # positions 1..n -> (n, feats)
        p = torch.arange(1, n + 1, dtype=torch.float32) / (n + 1e-6) * scale
        p = p[:, None] / dim_t
        return torch.stack((p[:, 0::2].sin(), p[:, 1::2].cos()), 2).flatten(1)

    pos_y = encode(h)[:, None, :].expand(h, w, feats)
    pos_x = encode(w)[None, :, :].expand(h, w, feats)
    return torch.cat((pos_y, pos_x), dim=2).reshape(1, h * w, dim)


class PatchEmbed(nn.Module):
    """Non-overlapping patches of a feature map, flattened and projected.

    The authors' ``rearrange(x, 'b c (h p1) (w p2) -> b (h w) (p1 p2 c)')``
    + ``patch_to_embedding``: features ordered (row in patch, column in
    patch, channel), tokens row-major; ``in_channels`` C, ``patch_size``
    ``(ph, pw)`` in map pixels, ``embed_dims`` D."""

    def __init__(self, in_channels: int, patch_size: Tuple[int, int],
                 embed_dims: int) -> None:
        super().__init__()
        self.patch_size = tuple(patch_size)
        self.proj = nn.Linear(in_channels * patch_size[0] * patch_size[1],
                              embed_dims)

    def forward(self, x: Tensor) -> Tensor:
        """Map (B, C, H, W) -> tokens (B, (H / ph) (W / pw), D)."""
        b, c, h, w = x.shape
        ph, pw = self.patch_size
        assert h % ph == 0 and w % pw == 0, (
            f'feature map {h}x{w} (h x w) is not divisible by the patch '
            f'size {ph}x{pw} (h x w)')
        x = x.reshape(b, c, h // ph, ph, w // pw, pw).permute(0, 2, 4, 3, 5, 1)
        return self.proj(x.reshape(b, (h // ph) * (w // pw), ph * pw * c))


class TransformerEncoder(nn.Module):
    """``depth`` pre-norm layers (the authors' ``Transformer``).

    Each layer is ``x + attn(norm1(x))`` then ``x + mlp(norm2(x))`` (the
    authors' ``Residual(PreNorm(Attention))``, ``Residual(PreNorm(
    FeedForward))``), ``mlp`` Linear, GELU, Linear of width
    ``D * mlp_ratio`` with dropout after the GELU and the output. A position
    encoding ``pos`` (1, N, D), zero on the keypoint tokens, is added again
    before every layer but the first (``'sine-full'``: ``if idx > 0:
    x[:, num_keypoints:] += pos``). Tokens (B, N, D) -> (B, N, D)."""

    def __init__(self, embed_dims: int, depth: int, num_heads: int,
                 mlp_ratio: float, scale_with_head: bool,
                 drop_rate: float) -> None:
        super().__init__()
        hidden = int(embed_dims * mlp_ratio)
        self.layers = nn.ModuleList(
            nn.ModuleDict(
                dict(
                    norm1=nn.LayerNorm(embed_dims),
                    attn=Attention(embed_dims, num_heads, scale_with_head,
                                   drop_rate),
                    norm2=nn.LayerNorm(embed_dims),
                    mlp=nn.Sequential(
                        OrderedDict(
                            fc1=nn.Linear(embed_dims, hidden),
                            act=nn.GELU(),
                            drop1=nn.Dropout(drop_rate),
                            fc2=nn.Linear(hidden, embed_dims),
                            drop2=nn.Dropout(drop_rate)))))
            for _ in range(depth))

    def forward(self, x: Tensor, pos: Optional[Tensor] = None) -> Tensor:
        for idx, layer in enumerate(self.layers):
            if idx > 0 and pos is not None:
                x = x + pos
            x = x + layer['attn'](layer['norm1'](x))
            x = x + layer['mlp'](layer['norm2'](x))
        return x


class HRNetStem(HRNet):
    """HRNet's stem and first ``len(extra)`` stages; the stride-4 output.

    TokenPose-B / -L read the top branch of HRNet's stages 1-3 (the last
    module fusing into it only); TokenPose-S's stem-net is stage 1
    (:data:`RESNET_STEM`). ``HRNet.__init__`` (always four stages) is not
    called, its builders, ``init_weights`` and ``train`` are: parameter
    names are mmpose's (and the authors'), its ImageNet weights load.
    Images (B, 3, H, W) -> the stride-4 branch (B, C, H / 4, W / 4).
    ``extra`` holds ``stage1`` .. ``stageN`` as in mmpose's ``HRNet``; the
    other arguments are ``HRNet``'s (``norm_cfg`` ``None``: BN).
    """

    def __init__(self,
                 extra: ConfigType,
                 in_channels: int = 3,
                 norm_cfg: OptConfigType = None,
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 init_cfg: OptMultiConfig = None) -> None:
        BaseBackbone.__init__(
            self,
            init_cfg=init_cfg or [
                dict(type='Normal', std=0.001, layer=['Conv2d']),
                dict(
                    type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])
            ])
        self.num_stages = len(extra)
        stages = {f'stage{i + 1}' for i in range(self.num_stages)}
        assert set(extra) == stages, f'extra: {sorted(extra)}, not stage1..N'
        self.extra, self.conv_cfg = extra, None
        self.norm_cfg = dict(norm_cfg or dict(type='BN'))
        self.norm_eval, self.with_cp = norm_eval, with_cp
        self.zero_init_residual, self.frozen_stages = False, -1
        self.upsample_cfg = dict(mode='nearest', align_corners=None)
        # HRNet's stem: two 3x3 stride-2 convs, norms named bn1 / bn2
        conv = dict(kernel_size=3, stride=2, padding=1, bias=False)
        for i, c_in in ((1, in_channels), (2, 64)):
            self.add_module(f'conv{i}', nn.Conv2d(c_in, 64, **conv))
            name, norm = build_norm_layer(self.norm_cfg, 64, i)
            setattr(self, f'norm{i}_name', name)
            self.add_module(name, norm)
        self.relu = nn.ReLU(inplace=True)
        cfg = extra['stage1']
        block = self.blocks_dict[cfg['block']]
        channels = [cfg['num_channels'][0] * get_expansion(block)]
        self.layer1 = self._make_layer(block, 64, channels[0],
                                       cfg['num_blocks'][0])
        for i in range(2, self.num_stages + 1):
            cfg = extra[f'stage{i}']
            block = self.blocks_dict[cfg['block']]
            new = [c * get_expansion(block) for c in cfg['num_channels']]
            self.add_module(f'transition{i - 1}',
                            self._make_transition_layer(channels, new))
            stage, channels = self._make_stage(
                cfg, new, multiscale_output=i < self.num_stages)
            self.add_module(f'stage{i}', stage)
        self.out_channels = channels[0]

    def forward(self, x: Tensor) -> Tensor:
        x = self.relu(self.norm1(self.conv1(x)))
        y_list = [self.layer1(self.relu(self.norm2(self.conv2(x))))]
        for i in range(2, self.num_stages + 1):
            x_list = [
                t(y_list[-1]) if t is not None else y_list[j]
                for j, t in enumerate(getattr(self, f'transition{i - 1}'))
            ]
            y_list = getattr(self, f'stage{i}')(x_list)
        return y_list[0]


@MODELS.register_module()
class TokenPose(BaseBackbone):
    """TokenPose backbone: one output token per keypoint.

    `TokenPose: Learning Keypoint Tokens for Human Pose Estimation`_
    (``TokenPose_S_base``, ``TokenPose_TB_base``, ``TokenPose_L_base``). A
    stem's map is cut into ``N = (h / s / ph) (w / s / pw)`` visual tokens,
    K learnable keypoint tokens are prepended, ``num_transformers`` stacks
    run over the ``K + N`` tokens, and the K keypoint tokens go to
    :class:`TokenPoseHeatmapHead` or ``SimDRHead(embedding_dim=D)``. The
    T / S / B / L variants are configs (``configs/tokenpose``).

    ``pos_embed='sine'`` (the authors' ``'sine-full'``, Table 7): the frozen
    :func:`sine_position_encoding` is added to the visual tokens before
    every layer of the first stack (stacks 2 and 3 of L start from the
    previous tokens, as ``TokenPose_L_base``); a ``Parameter`` with
    ``requires_grad=False``, as the authors count TokenPose-S-v1's 6,669,888
    parameters. ``'learnable'``: a trained (1, K + N, D) table added once to
    all tokens. ``'none'``: no position information.

    Note:
        - batch size: B, keypoints: K, token length: D
        - input size ``[w, h]``; stem stride s (4, or 1 for ``'pure'``)
        - patch size ``(ph, pw)`` in stem-map pixels, rows first

    Args:
        input_size (tuple): Input image size ``(w, h)``, the codec's.
            Defaults to ``(192, 256)``.
        stem (str): ``'resnet'`` (TokenPose-S), ``'hrnet'`` or ``'pure'``
            (RGB patches, TokenPose-T). Defaults to ``'resnet'``.
        hrnet (dict, optional): :class:`HRNetStem` arguments, exactly for
            ``stem='hrnet'``. Defaults to ``None``.
        patch_size (tuple): ``(ph, pw)``. Defaults to ``(4, 3)``: a 16x16
            grid at 256x192.
        embed_dims (int): Token length D. Defaults to 192.
        depth (int): Layers per stack. Defaults to 12.
        num_heads (int): Attention heads. Defaults to 8.
        mlp_ratio (float): MLP width over D. Defaults to 3.
        num_transformers (int): 1, or 3 (TokenPose-L: stacks in sequence,
            keypoint tokens concatenated). Defaults to 1.
        scale_with_head (bool): See :class:`Attention`. Defaults to
            ``False`` (TokenPose-S).
        pos_embed (str): ``'sine'``, ``'learnable'`` or ``'none'``.
            Defaults to ``'sine'``.
        num_keypoints (int): K. Defaults to 17.
        drop_rate (float): Dropout in the transformer and on the tokens.
            Defaults to 0 (the authors' setting).
        init_cfg (dict | list, optional): Applied after the authors' rules
            (:meth:`init_weights`). Defaults to ``None``.

    .. _`TokenPose: Learning Keypoint Tokens for Human Pose Estimation`:
       https://arxiv.org/abs/2104.03516
    """

    def __init__(self,
                 input_size: Tuple[int, int] = (192, 256),
                 stem: str = 'resnet',
                 hrnet: OptConfigType = None,
                 patch_size: Tuple[int, int] = (4, 3),
                 embed_dims: int = 192,
                 depth: int = 12,
                 num_heads: int = 8,
                 mlp_ratio: float = 3.,
                 num_transformers: int = 1,
                 scale_with_head: bool = False,
                 pos_embed: str = 'sine',
                 num_keypoints: int = 17,
                 drop_rate: float = 0.,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        assert stem in STEMS, f'stem must be one of {STEMS}, got {stem!r}'
        assert pos_embed in POS_EMBEDS, (
            f'pos_embed must be one of {POS_EMBEDS}, got {pos_embed!r}')
        assert (hrnet is not None) == (stem == 'hrnet'), (
            f'give hrnet=dict(extra=...) exactly when stem="hrnet" '
            f'(stem={stem!r}, hrnet={hrnet!r})')
        assert num_transformers >= 1 and depth >= 1, (
            f'need num_transformers >= 1 and depth >= 1, got '
            f'{num_transformers} and {depth}')
        self.input_size, self.patch_size = tuple(input_size), tuple(patch_size)
        self.embed_dims, self.num_keypoints = embed_dims, num_keypoints
        self.pos_embed_type = pos_embed
        self.out_channels = num_transformers * embed_dims  # (B, K, this)
        if stem == 'pure':
            self.stem = nn.Identity()
            stem_channels, stride, divisor = 3, 1, 1
        else:
            self.stem = HRNetStem(**(hrnet or dict(extra=RESNET_STEM)))
            stem_channels, stride = self.stem.out_channels, 4
            # HRNet's lowest branch has stride 4 * 2 ** (branches - 1);
            # its fuse layers upsample by exact factors of 2
            last = self.stem.extra[f'stage{self.stem.num_stages}']
            divisor = 4 * 2**(last['num_branches'] - 1)
        (w, h), (ph, pw) = self.input_size, self.patch_size
        assert h % (stride * ph) == 0 and w % (stride * pw) == 0 and \
            h % divisor == 0 and w % divisor == 0, (
                f'input_size {self.input_size} (w, h) must give a stride-'
                f'{stride} map divisible by patch_size {self.patch_size} '
                f'(h, w) and be a multiple of {divisor} for the {stem} stem')
        self.grid_size = (h // stride // ph, w // stride // pw)
        num_tokens = num_keypoints + self.grid_size[0] * self.grid_size[1]
        self.patch_embed = PatchEmbed(stem_channels, self.patch_size,
                                      embed_dims)
        self.keypoint_tokens = nn.Parameter(
            torch.zeros(1, num_keypoints, embed_dims))
        self.pos_embed = None if pos_embed == 'none' else nn.Parameter(
            sine_position_encoding(*self.grid_size, embed_dims)
            if pos_embed == 'sine' else torch.zeros(1, num_tokens, embed_dims),
            requires_grad=pos_embed == 'learnable')
        self.drop = nn.Dropout(drop_rate)
        self.transformers = nn.ModuleList(
            TransformerEncoder(embed_dims, depth, num_heads, mlp_ratio,
                               scale_with_head, drop_rate)
            for _ in range(num_transformers))

    def forward(self, x: Tensor) -> Tuple[Tensor]:
        """Images (B, 3, h, w), ``(w, h) == input_size`` -> keypoint tokens
        (B, K, D), or (B, K, 3 D) for three stacks (in stack order)."""
        assert tuple(x.shape[-2:]) == self.input_size[::-1], (
            f'TokenPose was built for input_size {self.input_size} (w, h) '
            f'but got images of {x.shape[-1]}x{x.shape[-2]} (w x h)')
        x = self.patch_embed(self.stem(x))  # (B, N, D)
        k, pos = self.num_keypoints, None
        if self.pos_embed_type == 'sine':
            x = x + self.pos_embed
            # zero on the keypoint tokens: re-added to visual tokens only
            pos = F.pad(self.pos_embed, (0, 0, k, 0))
        x = torch.cat((self.keypoint_tokens.expand(x.shape[0], -1, -1), x),
                      dim=1)  # (B, K + N, D)
        if self.pos_embed_type == 'learnable':
            x = x + self.pos_embed
        x = self.drop(x)
        outs: List[Tensor] = []
        for transformer in self.transformers:
            x = transformer(x, pos)
            outs.append(x[:, :k])
        return (torch.cat(outs, dim=-1), )

    def init_weights(self) -> None:
        """The authors' ``_init_weights`` outside the stem (Linear and
        keypoint tokens / learnable encoding trunc-normal(0.02), biases 0,
        LayerNorm 1 / 0), the stem's own ``init_cfg``, then this one's."""
        if not self.is_init:
            for name, m in self.named_modules():
                if name.split('.')[0] == 'stem':
                    continue
                if isinstance(m, nn.Linear):
                    nn.init.trunc_normal_(m.weight, std=.02)
                    if m.bias is not None:
                        nn.init.zeros_(m.bias)
                elif isinstance(m, nn.LayerNorm):
                    nn.init.ones_(m.weight)
                    nn.init.zeros_(m.bias)
            nn.init.trunc_normal_(self.keypoint_tokens, std=.02)
            if self.pos_embed_type == 'learnable':
                nn.init.trunc_normal_(self.pos_embed, std=.02)
        super().init_weights()
