# Copyright (c) simdr_ext contributors. All rights reserved.
"""Write the authors' checkpoint key layouts (``{key: shape}``) as JSON.

Each layout is the ordered ``state_dict()`` of one model of the SimDR
authors (leeyegy/SimCC ``aa6e089``, ``lib/models/``) or of the TokenPose
authors (leeyegy/TokenPose ``ac939fa``, ``lib/models/``), rebuilt here from
their architecture description alone: plain ``torch.nn`` modules assigned
under the authors' attribute names, in the authors' order, with the sizes
of their experiment yamls. Nothing of simdr_ext or mmpose is imported; the
modules are built on the ``meta`` device (shapes only, no memory). Which
file and class each layout follows is listed in ``README.md`` here.

Run from the repository root (writes ``tests/data/author_layouts/*.json``)::

    python tests/data/author_layouts/make_layouts.py
"""
import json
import os.path as osp
from collections import OrderedDict
from typing import List, Optional, Sequence

import torch
from torch import nn

HERE = osp.dirname(osp.abspath(__file__))


# ---------------------------------------------------------------- blocks
# pose_resnet.py / pose_hrnet.py / hr_base.py / tokenpose_base.py all hold
# the same two residual blocks (HRNet code base): attributes, in order,
# conv1 bn1 [relu] conv2 bn2 [conv3 bn3] relu downsample; no conv bias.
class BasicBlock(nn.Module):
    """``BasicBlock``: two 3x3 convs (expansion 1)."""
    expansion = 1

    def __init__(self, cin: int, planes: int, stride: int = 1,
                 downsample: Optional[nn.Module] = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample


class Bottleneck(nn.Module):
    """``Bottleneck``: 1x1, 3x3 (stride), 1x1 convs (expansion 4)."""
    expansion = 4

    def __init__(self, cin: int, planes: int, stride: int = 1,
                 downsample: Optional[nn.Module] = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU()
        self.downsample = downsample


BLOCKS = dict(BASIC=BasicBlock, BOTTLENECK=Bottleneck)


def make_layer(block, cin: int, planes: int, blocks: int,
               stride: int = 1) -> nn.Sequential:
    """``_make_layer``: a ``downsample`` = Sequential(conv 1x1, BN) on the
    first block when the stride or the width changes."""
    out = planes * block.expansion
    down = None
    if stride != 1 or cin != out:
        down = nn.Sequential(
            nn.Conv2d(cin, out, 1, stride, bias=False), nn.BatchNorm2d(out))
    layers = [block(cin, planes, stride, down)]
    layers += [block(out, planes) for _ in range(1, blocks)]
    return nn.Sequential(*layers)


# ----------------------------------------------------------------- HRNet
class HighResolutionModule(nn.Module):
    """``HighResolutionModule``: ``branches`` (ModuleList of Sequential
    blocks), then ``fuse_layers`` (ModuleList of ModuleList with ``None``
    at i == j; j > i: Sequential(conv 1x1, BN, Upsample); j < i: Sequential
    of i - j Sequential(conv 3x3 s2, BN[, ReLU but the last])); only row 0
    when ``multi_scale_output`` is False."""

    def __init__(self, block, num_blocks: Sequence[int], cin: List[int],
                 channels: Sequence[int], multi_scale_output: bool) -> None:
        super().__init__()
        n = len(channels)
        self.branches = nn.ModuleList(
            make_layer(block, cin[i], channels[i], num_blocks[i])
            for i in range(n))
        self.out_channels = [c * block.expansion for c in channels]
        c = self.out_channels
        rows = []
        for i in range(n if multi_scale_output else 1):
            row = []
            for j in range(n):
                if j > i:
                    row.append(
                        nn.Sequential(
                            nn.Conv2d(c[j], c[i], 1, bias=False),
                            nn.BatchNorm2d(c[i]),
                            nn.Upsample(scale_factor=2**(j - i))))
                elif j == i:
                    row.append(None)
                else:
                    steps = []
                    for k in range(i - j):
                        last = k == i - j - 1
                        cout = c[i] if last else c[j]
                        step = [
                            nn.Conv2d(c[j], cout, 3, 2, 1, bias=False),
                            nn.BatchNorm2d(cout)
                        ]
                        if not last:
                            step.append(nn.ReLU())
                        steps.append(nn.Sequential(*step))
                    row.append(nn.Sequential(*steps))
            rows.append(nn.ModuleList(row))
        self.fuse_layers = nn.ModuleList(rows) if n > 1 else None
        self.relu = nn.ReLU()


def transition(pre: List[int], cur: List[int]) -> nn.ModuleList:
    """``_make_transition_layer``: for an existing branch a
    Sequential(conv 3x3, BN, ReLU) if the width changes, else ``None``;
    for a new branch a Sequential of Sequential(conv 3x3 s2, BN, ReLU)."""
    out: List[Optional[nn.Module]] = []
    for i, c in enumerate(cur):
        if i < len(pre):
            out.append(None if c == pre[i] else nn.Sequential(
                nn.Conv2d(pre[i], c, 3, 1, 1, bias=False),
                nn.BatchNorm2d(c), nn.ReLU()))
        else:
            steps = []
            for j in range(i + 1 - len(pre)):
                cout = c if j == i - len(pre) else pre[-1]
                steps.append(
                    nn.Sequential(
                        nn.Conv2d(pre[-1], cout, 3, 2, 1, bias=False),
                        nn.BatchNorm2d(cout), nn.ReLU()))
            out.append(nn.Sequential(*steps))
    return nn.ModuleList(out)


def add_stem_net(model: nn.Module) -> None:
    """The stem both HRNet and TokenPose-S build (stride 4, 256 channels):
    conv1 bn1 conv2 bn2 relu (two stride-2 3x3 convolutions, 64 channels)
    and layer1 (4 bottlenecks)."""
    model.conv1 = nn.Conv2d(3, 64, 3, 2, 1, bias=False)
    model.bn1 = nn.BatchNorm2d(64)
    model.conv2 = nn.Conv2d(64, 64, 3, 2, 1, bias=False)
    model.bn2 = nn.BatchNorm2d(64)
    model.relu = nn.ReLU()
    model.layer1 = make_layer(Bottleneck, 64, 64, 4)


def add_hrnet(model: nn.Module, stages: List[dict]) -> int:
    """HRNet's stem and stages 2.. onto ``model`` (the attribute order of
    ``PoseHighResolutionNet`` / ``HRNET_base``): conv1 bn1 conv2 bn2 relu
    layer1, then transition{i-1} stage{i} per stage; the last module of the
    last stage keeps only the highest-resolution output. Returns its
    width."""
    add_stem_net(model)
    pre = [256]
    for s, cfg in enumerate(stages, start=2):
        block = BLOCKS[cfg['block']]
        cur = [c * block.expansion for c in cfg['channels']]
        setattr(model, f'transition{s - 1}', transition(pre, cur))
        modules = []
        cin = list(cur)
        for m in range(cfg['modules']):
            last = s == len(stages) + 1 and m == cfg['modules'] - 1
            hrm = HighResolutionModule(block, cfg['blocks'], cin,
                                       cfg['channels'], not last)
            modules.append(hrm)
            cin = hrm.out_channels
        setattr(model, f'stage{s}', nn.Sequential(*modules))
        pre = cin
    return pre[0]


def hrnet_stages(width: int, num: int) -> List[dict]:
    """Stages 2..num+1 of HRNet-W``width`` (the yamls' STAGE2-4: 1, 4, 3
    modules of 4 BASIC blocks per branch, widths W * 2^i)."""
    return [
        dict(block='BASIC', modules=m, blocks=[4] * b,
             channels=[width * 2**i for i in range(b)])
        for m, b in [(1, 2), (4, 3), (3, 4)][:num]
    ]


# ------------------------------------------------------- SimDR (SimCC)
def pose_resnet(layers: Sequence[int], deconv: Sequence[int],
                num_joints: int, head_input: Optional[int],
                bins: Sequence[int], channel_per_joint: int = 1) -> nn.Module:
    """``PoseResNet`` of ``pose_resnet.py`` (``deconv`` filters given) or of
    ``pose_resnet_upfree.py`` (``deconv`` empty, ``channel_per_joint``):
    conv1 bn1 relu maxpool layer1-4 [deconv_layers] final_layer
    [mlp_head_x mlp_head_y]. Deconvolutions: Sequential of
    (ConvTranspose2d 4x4 s2 no bias, BN, ReLU) per filter count."""
    m = nn.Module()
    m.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
    m.bn1 = nn.BatchNorm2d(64)
    m.relu = nn.ReLU()
    m.maxpool = nn.MaxPool2d(3, 2, 1)
    cin = 64
    for i, (planes, n) in enumerate(zip((64, 128, 256, 512), layers)):
        setattr(m, f'layer{i + 1}',
                make_layer(Bottleneck, cin, planes, n, 1 if i == 0 else 2))
        cin = planes * 4
    if deconv:
        seq = []
        for planes in deconv:
            seq += [
                nn.ConvTranspose2d(cin, planes, 4, 2, 1, bias=False),
                nn.BatchNorm2d(planes),
                nn.ReLU()
            ]
            cin = planes
        m.deconv_layers = nn.Sequential(*seq)
    m.final_layer = nn.Conv2d(cin, num_joints * channel_per_joint, 1)
    if head_input:
        m.mlp_head_x = nn.Linear(head_input, bins[0])
        m.mlp_head_y = nn.Linear(head_input, bins[1])
    return m


def pose_hrnet(width: int, num_joints: int, head_input: Optional[int],
               bins: Sequence[int]) -> nn.Module:
    """``PoseHighResolutionNet`` of ``pose_hrnet.py``: the stem and stages
    2-4, final_layer (1x1 conv, W -> K), [mlp_head_x mlp_head_y]."""
    m = nn.Module()
    c = add_hrnet(m, hrnet_stages(width, 3))
    m.final_layer = nn.Conv2d(c, num_joints, 1)
    if head_input:
        m.mlp_head_x = nn.Linear(head_input, bins[0])
        m.mlp_head_y = nn.Linear(head_input, bins[1])
    return m


# ------------------------------------------------------------ TokenPose
class Residual(nn.Module):
    """``Residual``: ``fn(x) + x``, the wrapped module as ``fn``."""

    def __init__(self, fn: nn.Module) -> None:
        super().__init__()
        self.fn = fn


class PreNorm(nn.Module):
    """``PreNorm``: ``norm`` (LayerNorm) then ``fn``."""

    def __init__(self, dim: int, fn: nn.Module) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fn = fn


class Attention(nn.Module):
    """``Attention``: ``to_qkv`` (Linear D -> 3D, no bias), ``to_out``
    (Sequential(Linear D -> D, Dropout))."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.to_qkv = nn.Linear(dim, dim * 3, bias=False)
        self.to_out = nn.Sequential(nn.Linear(dim, dim), nn.Dropout())


class FeedForward(nn.Module):
    """``FeedForward``: ``net`` = Sequential(Linear, GELU, Dropout, Linear,
    Dropout)."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(),
            nn.Linear(hidden, dim), nn.Dropout())


class Transformer(nn.Module):
    """``Transformer``: ``layers`` = ModuleList of ModuleList(
    Residual(PreNorm(Attention)), Residual(PreNorm(FeedForward)))."""

    def __init__(self, dim: int, depth: int, mlp_dim: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            nn.ModuleList([
                Residual(PreNorm(dim, Attention(dim))),
                Residual(PreNorm(dim, FeedForward(dim, mlp_dim)))
            ]) for _ in range(depth))


def tokenpose_base(*, num_keypoints: int, dim: int, num_patches: int,
                   patch_dim: int, depth: int, stacks: int, heatmap_dim: int,
                   hidden_heatmap_dim: int, stem_net: bool) -> nn.Module:
    """``TokenPose_S_base`` (``stem_net``), ``TokenPose_TB_base`` (one
    stack) or ``TokenPose_L_base`` (three stacks ``transformer1..3``) of
    ``tokenpose_base.py``, with the ``'sine-full'`` position encoding of
    every TokenPose yaml (a frozen Parameter of shape (1, N, D), so it is
    in the state dict). Attribute order: keypoint_token, pos_embedding,
    patch_to_embedding, dropout, [conv1 bn1 conv2 bn2 relu layer1],
    transformer(s), to_keypoint_token, mlp_head. ``mlp_head``: LN, Linear,
    LN, Linear when ``in <= hidden / 2`` (in = D, or 3 D for L), else LN,
    Linear."""
    m = nn.Module()
    m.keypoint_token = nn.Parameter(torch.zeros(1, num_keypoints, dim))
    m.pos_embedding = nn.Parameter(
        torch.zeros(1, num_patches, dim), requires_grad=False)
    m.patch_to_embedding = nn.Linear(patch_dim, dim)
    m.dropout = nn.Dropout()
    if stem_net:
        add_stem_net(m)
    if stacks == 1:
        m.transformer = Transformer(dim, depth, dim * 3)
    else:
        for t in range(1, stacks + 1):
            setattr(m, f'transformer{t}', Transformer(dim, depth, dim * 3))
    m.to_keypoint_token = nn.Identity()
    cin = dim * stacks
    if cin <= hidden_heatmap_dim * 0.5:
        m.mlp_head = nn.Sequential(
            nn.LayerNorm(cin), nn.Linear(cin, hidden_heatmap_dim),
            nn.LayerNorm(hidden_heatmap_dim),
            nn.Linear(hidden_heatmap_dim, heatmap_dim))
    else:
        m.mlp_head = nn.Sequential(
            nn.LayerNorm(cin), nn.Linear(cin, heatmap_dim))
    return m


def tokenpose_s(**base) -> nn.Module:
    """``TokenPose_S`` of ``pose_tokenpose_s.py``: the base as
    ``features``."""
    m = nn.Module()
    m.features = tokenpose_base(stacks=1, stem_net=True, **base)
    return m


def tokenpose_t(**base) -> nn.Module:
    """``TokenPose_T`` of ``pose_tokenpose_t.py``: the base on the RGB
    image (no stem) as ``transformer``."""
    m = nn.Module()
    m.transformer = tokenpose_base(stacks=1, stem_net=False, **base)
    return m


def tokenpose_hr(width: int, stacks: int, **base) -> nn.Module:
    """``TokenPose_B`` / ``TokenPose_L`` of ``pose_tokenpose_b.py`` /
    ``_l.py``: ``pre_feature`` (``HRNET_base`` of ``hr_base.py``: stem and
    stages 2-3, the last stage-3 module single-output), then
    ``transformer`` (the base)."""
    m = nn.Module()
    m.pre_feature = nn.Module()
    add_hrnet(m.pre_feature, hrnet_stages(width, 2))
    m.transformer = tokenpose_base(stacks=stacks, stem_net=False, **base)
    return m


# --------------------------------------------------------------- models
def layouts() -> 'OrderedDict[str, nn.Module]':
    """The models, with sizes from the authors' experiment yamls."""
    out: 'OrderedDict[str, nn.Module]' = OrderedDict()
    with torch.device('meta'):
        # SimCC experiments/coco/resnet/simdr/original/
        # nmt_res50_256x192_d256x3_adam_lr1e-3_deconv3_split2.yaml:
        # NUM_LAYERS 50, 3 deconvs of 256, HEAD_INPUT 3072 (64 x 48),
        # bins IMAGE_SIZE * SIMDR_SPLIT_RATIO 2 = (384, 512)
        out['simdr_pose_resnet50_coco_256x192'] = pose_resnet(
            (3, 4, 6, 3), (256, 256, 256), 17, 3072, (384, 512))
        # .../simdr/upsample_free/
        # nmt_res50_256x192_d256x3_adam_lr1e-3_split_2_cpj28.yaml:
        # CHANNEL_PER_JOINT 28, HEAD_INPUT 1344 (28 x 8 x 6), bins
        # HEATMAP_SIZE (192, 256) * 2
        out['simdr_pose_resnet50_upfree_coco_256x192'] = pose_resnet(
            (3, 4, 6, 3), (), 17, 1344, (384, 512), channel_per_joint=28)
        # experiments/coco/hrnet/simdr/nmt_w32_256x192_adam_lr1e-3.yaml:
        # STAGE2-4 widths 32..256, HEAD_INPUT 3072, bins (384, 512)
        out['simdr_pose_hrnet_w32_coco_256x192'] = pose_hrnet(
            32, 17, 3072, (384, 512))
        # the same models with COORD_REPRESENTATION 'heatmap' (no
        # mlp_head_x/y): experiments/coco/resnet/heatmap/
        # res50_256x192_d256x3_adam_lr1e-3.yaml and
        # experiments/coco/hrnet/heatmap/w32_256x192_adam_lr1e-3.yaml
        out['heatmap_pose_resnet50_coco_256x192'] = pose_resnet(
            (3, 4, 6, 3), (256, 256, 256), 17, None, ())
        out['heatmap_pose_hrnet_w32_coco_256x192'] = pose_hrnet(
            32, 17, None, ())
        # TokenPose experiments/coco/tokenpose/
        # tokenpose_s_v1_256_192_patch43_dim192_depth12_heads8.yaml:
        # D 192, depth 12, patch 4x3 of the 64x48 stem map (256 patches of
        # 256 x 12 values), hidden_heatmap_dim 64 x 48 / 8 = 384
        out['tokenpose_s_v1_coco_256x192'] = tokenpose_s(
            num_keypoints=17, dim=192, num_patches=256, patch_dim=256 * 12,
            depth=12, heatmap_dim=64 * 48, hidden_heatmap_dim=384)
        # tokenpose_t_256_192_patch1612_dim192_depth12_heads16.yaml: patches
        # 16x12 of the RGB image (BASE_CHANNEL 3), 256 of 3 x 192 values
        out['tokenpose_t_coco_256x192'] = tokenpose_t(
            num_keypoints=17, dim=192, num_patches=256, patch_dim=3 * 192,
            depth=12, heatmap_dim=64 * 48, hidden_heatmap_dim=384)
        # tokenpose_b_256_192_patch43_dim192_depth12_heads8.yaml: HRNet-W32
        # stages 2-3, BASE_CHANNEL 32 (config/default.py), patch 4x3
        out['tokenpose_b_coco_256x192'] = tokenpose_hr(
            32, 1, num_keypoints=17, dim=192, num_patches=256,
            patch_dim=32 * 12, depth=12, heatmap_dim=64 * 48,
            hidden_heatmap_dim=384)
        # tokenpose_L_D24_256_192_patch43_dim192_depth24_heads12.yaml:
        # HRNet-W48, BASE_CHANNEL 48, 3 stacks of TRANSFORMER_DEPTH 8,
        # HIDDEN_HEATMAP_DIM 384 (3 x 192 > 384 / 2: one-layer head)
        out['tokenpose_l_d24_coco_256x192'] = tokenpose_hr(
            48, 3, num_keypoints=17, dim=192, num_patches=256,
            patch_dim=48 * 12, depth=8, heatmap_dim=64 * 48,
            hidden_heatmap_dim=384)
        # experiments/mpii/tokenpose/
        # tokenpose_l_D6_256x256_patch44_dim192_depth6.yaml: 16 joints,
        # 3 stacks of depth 2, patch 4x4 of the 64x64 map, heatmap 64x64
        out['tokenpose_l_d6_mpii_256x256'] = tokenpose_hr(
            48, 3, num_keypoints=16, dim=192, num_patches=256,
            patch_dim=48 * 16, depth=2, heatmap_dim=64 * 64,
            hidden_heatmap_dim=384)
    return out


def main() -> None:
    for name, model in layouts().items():
        layout = OrderedDict(
            (k, list(v.shape)) for k, v in model.state_dict().items())
        path = osp.join(HERE, f'{name}.json')
        # one key per line: readable, and diffs show single keys
        lines = [f'{json.dumps(k)}: {json.dumps(v)}' for k, v in
                 layout.items()]
        with open(path, 'w') as f:
            f.write('{\n' + ',\n'.join(lines) + '\n}\n')
        print(f'{name}: {len(layout)} keys -> {osp.relpath(path)}')


if __name__ == '__main__':
    main()
