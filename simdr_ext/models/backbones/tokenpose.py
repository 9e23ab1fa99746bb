# Copyright (c) simdr_ext contributors. All rights reserved.
"""TokenPose: keypoint tokens read out by a transformer (arXiv 2104.03516).

Ported from leeyegy/TokenPose at commit ``ac939fa``
(https://github.com/leeyegy/TokenPose/blob/ac939fa/lib/models/tokenpose_base.py
and ``pose_tokenpose_{t,s,b,l}.py``), re-written in timm's order: small
typed blocks (:class:`Attention`, :class:`FeedForward`,
:func:`sine_position_encoding`, :class:`PatchEmbed`,
:class:`TransformerLayer`, :class:`TransformerEncoder`,
:class:`HRNetStem`), then the model (:class:`TokenPose`), then its
``init_weights``. The sizes T / S / B / L are configs
(``configs/tokenpose/``), not classes.
"""
import math
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

STEMS = ('pure', 'resnet', 'hrnet')
POS_EMBEDS = ('sine', 'learnable', 'none')

#: TokenPose-S's stem-net (``TokenPose_S_base``): two 3x3 stride-2 convs
#: (3 -> 64 -> 64) and 4 Bottlenecks (64 -> 256) at 1/4 resolution, i.e.
#: HRNet's stem and stage 1 at width 64
RESNET_STEM = dict(
    stage1=dict(
        num_modules=1,
        num_branches=1,
        block='BOTTLENECK',
        num_blocks=(4, ),
        num_channels=(64, )))


class Attention(nn.Module):
    """Multi-head self-attention with the authors' two scales.

    ``softmax(q k^T * scale) v`` per head through
    :func:`torch.nn.functional.scaled_dot_product_attention` (timm's
    ``Attention``), with the scale passed explicitly: the authors'
    ``Attention`` uses ``dim ** -0.5`` (TokenPose-S, ``scale_with_head=False``)
    or ``(dim // heads) ** -0.5`` (T, B, L: ``scale_with_head=True``), and
    SDPA's default would be the second. The ``qkv`` projection has no bias
    and its output is split as ``(3, heads, head_dim)``, the order of the
    authors' ``to_qkv(x).chunk(3)`` + ``'b n (h d) -> b h n d'``.

    Args:
        embed_dims (int): Token length D.
        num_heads (int): Number of heads; must divide D. Defaults to 8.
        scale_with_head (bool): Scale by ``head_dim ** -0.5`` instead of
            ``D ** -0.5``. Defaults to ``False``.
        drop_rate (float): Dropout after the output projection. Defaults
            to 0.
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
        """Attend over all tokens.

        Args:
            x (Tensor): Tokens in shape (B, N, D).

        Returns:
            Tensor: Tokens in shape (B, N, D).
        """
        b, n, d = x.shape
        # (B, N, 3 D) -> (3, B, heads, N, head_dims)
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads,
                                  self.head_dims).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        x = F.scaled_dot_product_attention(q, k, v, scale=self.scale)
        x = x.transpose(1, 2).reshape(b, n, d)
        return self.proj_drop(self.proj(x))


class FeedForward(nn.Module):
    """Transformer MLP: Linear, GELU, Linear (the authors' ``FeedForward``).

    Args:
        embed_dims (int): Token length D.
        hidden_dims (int): Hidden width (``D * mlp_ratio``; 576 for D = 192).
        drop_rate (float): Dropout after the activation and after the
            output. Defaults to 0.
    """

    def __init__(self,
                 embed_dims: int,
                 hidden_dims: int,
                 drop_rate: float = 0.) -> None:
        super().__init__()
        self.fc1 = nn.Linear(embed_dims, hidden_dims)
        self.act = nn.GELU()
        self.drop1 = nn.Dropout(drop_rate)
        self.fc2 = nn.Linear(hidden_dims, embed_dims)
        self.drop2 = nn.Dropout(drop_rate)

    def forward(self, x: Tensor) -> Tensor:
        """Apply the MLP to every token.

        Args:
            x (Tensor): Tokens in shape (B, N, D).

        Returns:
            Tensor: Tokens in shape (B, N, D).
        """
        return self.drop2(self.fc2(self.drop1(self.act(self.fc1(x)))))


def sine_position_encoding(h: int,
                           w: int,
                           dim: int,
                           temperature: float = 10000.,
                           scale: float = 2 * math.pi) -> Tensor:
    """Fixed 2D sine position encoding of an ``h x w`` token grid.

    The authors' ``_make_sine_position_embedding`` (``tokenpose_base.py``,
    after DETR): with ``F = dim // 2`` features per direction and rows /
    columns counted from 1,

    - ``y = r / (h + 1e-6) * scale`` for row ``r = 1..h``,
      ``x = c / (w + 1e-6) * scale`` for column ``c = 1..w``;
    - ``t_i = temperature ** (2 * (i // 2) / F)`` for ``i = 0..F-1``;
    - ``pos_y[2j] = sin(y / t_2j)``, ``pos_y[2j+1] = cos(y / t_2j+1)``
      (even/odd interleaved), ``pos_x`` likewise;
    - the token at row ``r``, column ``c`` (row-major, the patch order) gets
      ``cat(pos_y, pos_x)``: y in the first half of the channels.

    Args:
        h (int): Rows of the token grid.
        w (int): Columns of the token grid.
        dim (int): Encoding length, a multiple of 4 (even per direction).
        temperature (float): The frequency base. Defaults to 10000.
        scale (float): Range of the normalised positions. Defaults to 2 pi.

    Returns:
        Tensor: float32 encoding in shape (1, h * w, dim).
    """
    assert dim % 4 == 0, (
        f'the sine encoding needs dim divisible by 4 (sin/cos pairs in '
        f'each of y and x), got {dim}')
    feats = dim // 2
    eps = 1e-6
    ys = torch.arange(1, h + 1, dtype=torch.float32) / (h + eps) * scale
    xs = torch.arange(1, w + 1, dtype=torch.float32) / (w + eps) * scale
    i = torch.arange(feats, dtype=torch.float32)
    dim_t = temperature**(2 * torch.div(i, 2, rounding_mode='floor') / feats)

    def encode(p: Tensor) -> Tensor:  # (L,) -> (L, feats)
        p = p[:, None] / dim_t
        return torch.stack((p[:, 0::2].sin(), p[:, 1::2].cos()),
                           dim=2).flatten(1)

    pos_y = encode(ys)[:, None, :].expand(h, w, feats)
    pos_x = encode(xs)[None, :, :].expand(h, w, feats)
    return torch.cat((pos_y, pos_x), dim=2).reshape(1, h * w, dim)


class PatchEmbed(nn.Module):
    """Non-overlapping patches of a feature map, flattened and projected.

    The authors' ``rearrange(x, 'b c (h p1) (w p2) -> b (h w) (p1 p2 c)')``
    + ``patch_to_embedding``: a patch's features are ordered (row in
    patch, column in patch, channel), tokens row-major over the grid.

    Args:
        in_channels (int): Channels C of the feature map.
        patch_size (tuple): Patch ``(h, w)`` in feature-map pixels.
        embed_dims (int): Token length D.
    """

    def __init__(self, in_channels: int, patch_size: Tuple[int, int],
                 embed_dims: int) -> None:
        super().__init__()
        self.patch_size = tuple(patch_size)
        ph, pw = self.patch_size
        self.proj = nn.Linear(in_channels * ph * pw, embed_dims)

    def forward(self, x: Tensor) -> Tensor:
        """Cut, flatten and project.

        Args:
            x (Tensor): Feature map in shape (B, C, H, W), H and W multiples
                of the patch size.

        Returns:
            Tensor: Tokens in shape (B, (H / ph) * (W / pw), D).
        """
        b, c, h, w = x.shape
        ph, pw = self.patch_size
        assert h % ph == 0 and w % pw == 0, (
            f'feature map {h}x{w} (h x w) is not divisible by the patch '
            f'size {ph}x{pw} (h x w)')
        x = x.reshape(b, c, h // ph, ph, w // pw, pw)
        x = x.permute(0, 2, 4, 3, 5, 1).reshape(b, (h // ph) * (w // pw),
                                                ph * pw * c)
        return self.proj(x)


class TransformerLayer(nn.Module):
    """Pre-norm encoder layer: ``x + attn(LN(x))``, then ``x + mlp(LN(x))``.

    The authors' ``[Residual(PreNorm(Attention)),
    Residual(PreNorm(FeedForward))]``.

    Args:
        embed_dims (int): Token length D.
        num_heads (int): Attention heads.
        mlp_ratio (float): MLP width over D.
        scale_with_head (bool): See :class:`Attention`.
        drop_rate (float): Dropout rate. Defaults to 0.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 mlp_ratio: float,
                 scale_with_head: bool,
                 drop_rate: float = 0.) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(embed_dims)
        self.attn = Attention(embed_dims, num_heads, scale_with_head,
                              drop_rate)
        self.norm2 = nn.LayerNorm(embed_dims)
        self.mlp = FeedForward(embed_dims, int(embed_dims * mlp_ratio),
                               drop_rate)

    def forward(self, x: Tensor) -> Tensor:
        """Apply the layer.

        Args:
            x (Tensor): Tokens in shape (B, N, D).

        Returns:
            Tensor: Tokens in shape (B, N, D).
        """
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class TransformerEncoder(nn.Module):
    """A stack of :class:`TransformerLayer` (the authors' ``Transformer``).

    With a position encoding ``pos`` given, it is added again to the tokens
    before every layer but the first (the authors' ``all_attn`` mode,
    ``'sine-full'``: ``if idx > 0: x[:, num_keypoints:] += pos``); ``pos``
    is already zero on the keypoint tokens.

    Args:
        embed_dims (int): Token length D.
        depth (int): Number of layers.
        num_heads (int): Attention heads.
        mlp_ratio (float): MLP width over D.
        scale_with_head (bool): See :class:`Attention`.
        drop_rate (float): Dropout rate. Defaults to 0.
    """

    def __init__(self,
                 embed_dims: int,
                 depth: int,
                 num_heads: int,
                 mlp_ratio: float,
                 scale_with_head: bool,
                 drop_rate: float = 0.) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            TransformerLayer(embed_dims, num_heads, mlp_ratio, scale_with_head,
                             drop_rate) for _ in range(depth))

    def forward(self, x: Tensor, pos: Optional[Tensor] = None) -> Tensor:
        """Apply the layers.

        Args:
            x (Tensor): Tokens in shape (B, N, D).
            pos (Tensor, optional): Encoding in shape (1, N, D) re-added
                before layers 2..depth. Defaults to ``None``.

        Returns:
            Tensor: Tokens in shape (B, N, D).
        """
        for idx, layer in enumerate(self.layers):
            if idx > 0 and pos is not None:
                x = x + pos
            x = layer(x)
        return x


class HRNetStem(HRNet):
    """HRNet's stem and first ``len(extra)`` stages; the stride-4 output.

    TokenPose-B / -L (``pose_tokenpose_b.py`` / ``_l.py``) feed the
    highest-resolution branch of HRNet's first three stages to the
    transformer, the last module of stage 3 fusing into that branch only
    (``multi_scale_output=False``). TokenPose-S's stem-net is the same stem
    with stage 1 alone (:data:`RESNET_STEM`).

    This subclass does not call ``HRNet.__init__``, because that always
    builds four stages; it reuses ``HRNet``'s ``_make_layer``,
    ``_make_transition_layer``, ``_make_stage``, ``init_weights`` and
    ``train``, so parameter names are mmpose's (and the authors'): the
    ImageNet checkpoints that mmpose's HRNet configs use load by name.

    Args:
        extra (dict): ``stage1`` .. ``stageN`` as in mmpose's ``HRNet``.
        in_channels (int): Image channels. Defaults to 3.
        norm_cfg (dict, optional): Norm layer. Defaults to
            ``dict(type='BN')``.
        norm_eval (bool): Keep BatchNorm in eval mode. Defaults to False.
        with_cp (bool): Gradient checkpointing. Defaults to False.
        init_cfg (dict | list, optional): Initialisation, e.g. ``Pretrained``
            ImageNet weights. Defaults to HRNet's: Normal(std 0.001) convs,
            BatchNorm 1.
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
        assert set(extra) == stages, (
            f'extra must hold stage1 .. stageN, got {sorted(extra)}')
        self.extra = extra
        self.conv_cfg = None
        self.norm_cfg = dict(norm_cfg or dict(type='BN'))
        self.norm_eval = norm_eval
        self.with_cp = with_cp
        self.zero_init_residual = False
        self.frozen_stages = -1
        self.upsample_cfg = dict(mode='nearest', align_corners=None)

        # HRNet's stem: two 3x3 stride-2 convs, norms named bn1 / bn2
        conv = dict(kernel_size=3, stride=2, padding=1, bias=False)
        self.conv1 = nn.Conv2d(in_channels, 64, **conv)
        self.norm1_name, norm1 = build_norm_layer(self.norm_cfg, 64, 1)
        self.add_module(self.norm1_name, norm1)
        self.conv2 = nn.Conv2d(64, 64, **conv)
        self.norm2_name, norm2 = build_norm_layer(self.norm_cfg, 64, 2)
        self.add_module(self.norm2_name, norm2)
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
        """Run the stem and the stages.

        Args:
            x (Tensor): Images in shape (B, 3, H, W).

        Returns:
            Tensor: The stride-4 branch in shape (B, C, H / 4, W / 4).
        """
        x = self.relu(self.norm1(self.conv1(x)))
        x = self.relu(self.norm2(self.conv2(x)))
        y_list = [self.layer1(x)]
        for i in range(2, self.num_stages + 1):
            transition = getattr(self, f'transition{i - 1}')
            x_list = [
                t(y_list[-1]) if t is not None else y_list[j]
                for j, t in enumerate(transition)
            ]
            y_list = getattr(self, f'stage{i}')(x_list)
        return y_list[0]


@MODELS.register_module()
class TokenPose(BaseBackbone):
    """TokenPose backbone: one output token per keypoint.

    `TokenPose: Learning Keypoint Tokens for Human Pose Estimation`_
    (leeyegy/TokenPose ``ac939fa``, ``TokenPose_S_base``,
    ``TokenPose_TB_base``, ``TokenPose_L_base``). A stem turns the image into
    a feature map, :class:`PatchEmbed` cuts it into ``N = (H / s / ph) (W /
    s / pw)`` visual tokens of length D, K learnable keypoint tokens are
    prepended, and ``num_transformers`` :class:`TransformerEncoder` stacks
    run over the ``K + N`` tokens. The output is the K keypoint tokens, which
    a head maps to heatmaps (:class:`TokenPoseHeatmapHead`) or to SimDR
    vectors (``SimDRHead`` with ``embedding_dim``).

    Position encoding (``pos_embed``):

    - ``'sine'`` (the authors' ``'sine-full'``, Table 7): the frozen
      :func:`sine_position_encoding` of the token grid is added to the
      **visual tokens only**, once before the first layer and again before
      every later layer of each stack (so before every layer of the first
      stack; stacks 2 and 3 of L take the previous stack's tokens at their
      first layer without a new addition, as in ``TokenPose_L_base``). It
      is a ``Parameter`` with ``requires_grad=False``, which is how the
      authors count TokenPose-S-v1 at 6,669,888 parameters.
    - ``'learnable'``: a trained (1, K + N, D) table added once to all
      tokens after the keypoint tokens are prepended.
    - ``'none'``: no position information.

    Variants (``configs/tokenpose``), all with D = 192, MLP ratio 3:

    ======= ========= ====== ===== ==================== ===== ========
    variant stem      C, s   patch depth                heads scale
    ======= ========= ====== ===== ==================== ===== ========
    T       pure      3, 1   16x12 12                   16    head_dim
    S-v1    resnet    256, 4 4x3   12                   8     D
    B       HRNet-W32 32, 4  4x3   12                   8     head_dim
    L/D24   HRNet-W48 48, 4  4x3   3 x 8, tokens concat 12    head_dim
    L/D6    HRNet-W48 48, 4  4x4   3 x 2, tokens concat 8     head_dim
    ======= ========= ====== ===== ==================== ===== ========

    Note:
        - batch size: B, keypoints: K, token length: D
        - input size ``[w, h]``; stem stride s (4, or 1 for ``'pure'``)
        - patch size ``(ph, pw)``: rows x columns of stem-map pixels
        - visual tokens N = (h / s / ph) (w / s / pw)

    Args:
        input_size (tuple): Input image size ``(w, h)`` (mmpose's order, as
            the codec). Defaults to ``(192, 256)``.
        stem (str): ``'resnet'`` (TokenPose-S's stem-net), ``'hrnet'``
            (``hrnet`` config) or ``'pure'`` (patches of the RGB image,
            TokenPose-T). Defaults to ``'resnet'``.
        hrnet (dict, optional): :class:`HRNetStem` arguments for
            ``stem='hrnet'``: ``extra`` with stage1-3 of mmpose's HRNet and
            e.g. a ``Pretrained`` ``init_cfg``. Defaults to ``None``.
        patch_size (tuple): ``(ph, pw)``, rows first (the authors' internal
            order). Defaults to ``(4, 3)``: a 64x48 stride-4 map of a
            256x192 input gives a 16x16 grid.
        embed_dims (int): Token length D. Defaults to 192.
        depth (int): Layers per transformer stack. Defaults to 12.
        num_heads (int): Attention heads. Defaults to 8.
        mlp_ratio (float): MLP width over D. Defaults to 3.
        num_transformers (int): 1, or 3 for TokenPose-L, whose stacks run
            one after another and whose three sets of keypoint tokens are
            concatenated (token fusion). Defaults to 1.
        scale_with_head (bool): Attention scale ``head_dim ** -0.5``
            instead of ``D ** -0.5``. Defaults to ``False`` (TokenPose-S).
        pos_embed (str): ``'sine'``, ``'learnable'`` or ``'none'``.
            Defaults to ``'sine'``.
        num_keypoints (int): K. Defaults to 17.
        drop_rate (float): Dropout in the transformer and on the embedded
            tokens. Defaults to 0 (the authors' setting).
        init_cfg (dict | list, optional): Initialisation of the whole
            backbone, applied after :meth:`init_weights`' own (e.g. a
            ``Pretrained`` converted checkpoint). Defaults to ``None``.

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
        self.input_size = tuple(input_size)
        self.patch_size = tuple(patch_size)
        self.embed_dims = embed_dims
        self.num_keypoints = num_keypoints
        self.pos_embed_type = pos_embed
        #: length of each output token (B, K, out_channels)
        self.out_channels = num_transformers * embed_dims

        if stem == 'pure':
            self.stem = nn.Identity()
            stem_channels, stride, divisor = 3, 1, 1
        else:
            self.stem = HRNetStem(**(hrnet or dict(extra=RESNET_STEM)))
            stem_channels, stride = self.stem.out_channels, 4
            # HRNet's lowest branch has stride 4 * 2 ** (branches - 1);
            # its fuse layers upsample by exact factors of 2
            branches = self.stem.extra[f'stage{self.stem.num_stages}'][
                'num_branches']
            divisor = 4 * 2**(branches - 1)
        w, h = self.input_size
        ph, pw = self.patch_size
        assert h % (stride * ph) == 0 and w % (stride * pw) == 0 and \
            h % divisor == 0 and w % divisor == 0, (
                f'input_size {self.input_size} (w, h) must give a stride-'
                f'{stride} map divisible by patch_size {self.patch_size} '
                f'(h, w) and be a multiple of {divisor} for the {stem} stem')
        self.grid_size = (h // stride // ph, w // stride // pw)
        num_patches = self.grid_size[0] * self.grid_size[1]

        self.patch_embed = PatchEmbed(stem_channels, self.patch_size,
                                      embed_dims)
        self.keypoint_tokens = nn.Parameter(
            torch.zeros(1, num_keypoints, embed_dims))
        if pos_embed == 'sine':
            self.pos_embed = nn.Parameter(
                sine_position_encoding(*self.grid_size, embed_dims),
                requires_grad=False)
        elif pos_embed == 'learnable':
            self.pos_embed = nn.Parameter(
                torch.zeros(1, num_keypoints + num_patches, embed_dims))
        else:
            self.pos_embed = None
        self.drop = nn.Dropout(drop_rate)
        self.transformers = nn.ModuleList(
            TransformerEncoder(embed_dims, depth, num_heads, mlp_ratio,
                               scale_with_head, drop_rate)
            for _ in range(num_transformers))

    def forward(self, x: Tensor) -> Tuple[Tensor]:
        """Keypoint tokens of a batch of images.

        Args:
            x (Tensor): Images in shape (B, 3, h, w), ``(w, h) ==
                input_size``.

        Returns:
            tuple[Tensor]: One tensor, the keypoint tokens in shape (B, K,
            D), or (B, K, 3 D) for three stacks (the concatenation of each
            stack's keypoint tokens, in stack order).
        """
        assert tuple(x.shape[-2:]) == self.input_size[::-1], (
            f'TokenPose was built for input_size {self.input_size} (w, h) '
            f'but got images of {x.shape[-1]}x{x.shape[-2]} (w x h)')
        x = self.patch_embed(self.stem(x))  # (B, N, D)
        k = self.num_keypoints
        pos = None
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
        """Initialise as the authors, then apply the ``init_cfg`` configs.

        The authors' ``_init_weights`` (``apply_init``): every Linear
        truncated-normal with std 0.02 and zero bias, every LayerNorm weight
        1 and bias 0; keypoint tokens (and a learnable encoding)
        truncated-normal with std 0.02. The stem keeps its own ``init_cfg``
        (HRNet's Normal(0.001) convs, or ImageNet ``Pretrained`` weights),
        and a ``Pretrained`` ``init_cfg`` of this backbone is applied last.
        """
        if not self.is_init:
            for name, m in self.named_modules():
                if name == 'stem' or name.startswith('stem.'):
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
