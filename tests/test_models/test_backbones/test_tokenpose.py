# Copyright (c) simdr_ext contributors. All rights reserved.
"""TokenPose backbone: blocks against hand / naive computations, variants,
#Params against the papers' numbers.

Reference numbers (the authors' code, leeyegy/TokenPose ac939fa, and
SimDR Table 2):
TokenPose-S-v1 + MLP heatmap head at 256x192 = 6,669,888 parameters (the
frozen sine table included); TokenPose-S + SimDR: 5.5M / 5.1M / 4.9M at
256x192 / 128x128 / 64x64; TokenPose-B 13.5M; TokenPose-L/D24 28M.
"""
import math

import pytest
import torch
from torch import nn

from mmpose.models.backbones.hrnet import HRNet
from mmpose.registry import MODELS
from simdr_ext.models import SimDRHead, TokenPoseHeatmapHead
from simdr_ext.models.backbones.tokenpose import (RESNET_STEM, Attention,
                                                  HRNetStem, PatchEmbed,
                                                  TokenPose,
                                                  sine_position_encoding)


def hrnet_stages_1_3(width: int) -> dict:
    """HRNet-W{width}'s stages 1-3 (1 and 4 modules of 4 BASIC blocks per
    branch in stages 2 and 3): TokenPose-B / -L's stem."""
    return dict(
        stage1=RESNET_STEM['stage1'],
        **{
            f'stage{i}':
            dict(
                num_modules=modules,
                num_branches=i,
                block='BASIC',
                num_blocks=(4, ) * i,
                num_channels=tuple(width * 2**b for b in range(i)))
            for i, modules in ((2, 1), (3, 4))
        })


W32, W48 = hrnet_stages_1_3(32), hrnet_stages_1_3(48)

# the variants of configs/tokenpose at their smallest valid inputs (w, h)
VARIANTS = {
    'T':
    dict(
        stem='pure',
        patch_size=(16, 12),
        num_heads=16,
        scale_with_head=True,
        input_size=(24, 32)),
    'S-v1':
    dict(input_size=(24, 32)),
    'B':
    dict(
        stem='hrnet',
        hrnet=dict(extra=W32),
        scale_with_head=True,
        input_size=(48, 32)),
    'L-D24':
    dict(
        stem='hrnet',
        hrnet=dict(extra=W48),
        depth=8,
        num_heads=12,
        num_transformers=3,
        scale_with_head=True,
        input_size=(48, 32)),
}
# L/D6: L's stem and stacks, 4x4 patches, 2 layers of 8 heads, MPII's 16
VARIANTS['L-D6'] = dict(
    VARIANTS['L-D24'],
    patch_size=(4, 4),
    depth=2,
    num_heads=8,
    num_keypoints=16,
    input_size=(32, 32))


def n_params(*modules: nn.Module) -> int:
    return sum(p.numel() for m in modules for p in m.parameters())


def test_registered_in_mmpose_models():
    assert MODELS.get('TokenPose') is TokenPose
    assert TokenPose.__module__.startswith('simdr_ext.')


# ---------------------------------------------------------------- blocks


def test_sine_encoding_against_hand_computation():
    """h=2, w=3, dim=8: F = 4 features per direction, dim_t = [1, 1, 100,
    100] (10000 ** (2 * (i // 2) / 4)), y in the first half."""
    h, w, dim, eps = 2, 3, 8, 1e-6
    pe = sine_position_encoding(h, w, dim)
    assert pe.shape == (1, h * w, dim) and pe.dtype == torch.float32
    dim_t = [1., 1., 100., 100.]
    for r in range(h):
        for c in range(w):
            y = (r + 1) / (h + eps) * 2 * math.pi
            x = (c + 1) / (w + eps) * 2 * math.pi
            want = []
            for p in (y, x):
                want += [
                    math.sin(p / dim_t[0]),
                    math.cos(p / dim_t[1]),
                    math.sin(p / dim_t[2]),
                    math.cos(p / dim_t[3])
                ]
            torch.testing.assert_close(
                pe[0, r * w + c], torch.tensor(want), rtol=0, atol=1e-6)


def test_sine_encoding_rejects_odd_feature_count():
    with pytest.raises(AssertionError, match='divisible by 4'):
        sine_position_encoding(2, 2, 6)


@pytest.mark.parametrize(
    'scale_with_head', [False, True], ids=['S-dim', 'B-head_dim'])
def test_attention_equals_naive_softmax(scale_with_head):
    torch.manual_seed(0)
    dim, heads = 24, 4
    attn = Attention(dim, heads, scale_with_head).eval()
    scale = (dim // heads if scale_with_head else dim)**-0.5
    assert attn.scale == scale
    x = torch.randn(2, 7, dim)
    # the authors' Attention.forward: chunk(3), 'b n (h d) -> b h n d'
    q, k, v = (
        t.reshape(2, 7, heads, dim // heads).transpose(1, 2)
        for t in attn.qkv(x).chunk(3, dim=-1))
    weights = (q @ k.transpose(-2, -1) * scale).softmax(dim=-1)
    naive = (weights @ v).transpose(1, 2).reshape(2, 7, dim)
    torch.testing.assert_close(attn(x), attn.proj(naive))


def test_attention_checks_heads():
    with pytest.raises(AssertionError, match='divisible by num_heads'):
        Attention(10, 4)


def test_patch_embed_token_order():
    """Tokens row-major over the grid, features (row, column, channel)."""
    c, ph, pw = 2, 2, 3
    embed = PatchEmbed(c, (ph, pw), c * ph * pw)
    with torch.no_grad():
        embed.proj.weight.copy_(torch.eye(c * ph * pw))
        embed.proj.bias.zero_()
    x = torch.randn(1, c, 4, 6)
    tokens = embed(x)
    assert tokens.shape == (1, 4, c * ph * pw)
    for r in range(2):
        for col in range(2):
            patch = x[0, :, r * ph:(r + 1) * ph, col * pw:(col + 1) * pw]
            torch.testing.assert_close(tokens[0, r * 2 + col],
                                       patch.permute(1, 2, 0).flatten())


# ---------------------------------------------------------------- model


def authors_forward(model: TokenPose, img: torch.Tensor) -> torch.Tensor:
    """``TokenPose_{S,L}_base.forward`` written out naively on ``model``'s
    weights: in-place re-addition of the encoding to the visual tokens
    before every layer with idx > 0 of each stack, einsum attention."""
    k = model.num_keypoints
    x = model.patch_embed(model.stem(img))
    pe = model.pos_embed
    if model.pos_embed_type == 'sine':
        x = x + pe
    x = torch.cat((model.keypoint_tokens.expand(x.shape[0], -1, -1), x), 1)
    if model.pos_embed_type == 'learnable':
        x = x + pe
    outs = []
    for stack in model.transformers:
        for idx, layer in enumerate(stack.layers):
            if idx > 0 and model.pos_embed_type == 'sine':
                x = x.clone()
                x[:, k:] += pe
            a = layer.attn
            q, kk, v = (
                t.reshape(*t.shape[:2], a.num_heads,
                          a.head_dims).transpose(1, 2)
                for t in a.qkv(layer.norm1(x)).chunk(3, dim=-1))
            dots = torch.einsum('bhid,bhjd->bhij', q, kk) * a.scale
            o = torch.einsum('bhij,bhjd->bhid', dots.softmax(-1), v)
            x = x + a.proj(o.transpose(1, 2).flatten(2))
            x = x + layer.mlp(layer.norm2(x))
        outs.append(x[:, :k])
    return torch.cat(outs, dim=2)


@pytest.mark.parametrize(
    'pos_embed,stacks', [('sine', 1), ('sine', 3), ('learnable', 1),
                         ('none', 2)],
    ids=['sine', 'sine-3-stacks', 'learnable', 'none'])
def test_forward_matches_the_authors_loop(pos_embed, stacks):
    torch.manual_seed(0)
    model = TokenPose(
        input_size=(24, 32),
        stem='pure',
        patch_size=(8, 6),
        embed_dims=16,
        depth=3,
        num_heads=2,
        num_transformers=stacks,
        pos_embed=pos_embed,
        num_keypoints=3)
    model.init_weights()
    model.eval()
    img = torch.randn(2, 3, 32, 24)
    (tokens, ) = model(img)
    assert tokens.shape == (2, 3, 16 * stacks)
    torch.testing.assert_close(tokens, authors_forward(model, img))


@pytest.mark.parametrize('name', list(VARIANTS), ids=list(VARIANTS))
def test_variant_forward_backward(name):
    torch.manual_seed(0)
    cfg = dict(VARIANTS[name])
    model = MODELS.build(dict(type='TokenPose', **cfg))
    model.init_weights()
    model.train()
    w, h = cfg['input_size']
    (tokens, ) = model(torch.randn(1, 3, h, w))
    k = cfg.get('num_keypoints', 17)
    assert tokens.shape == (1, k, model.out_channels)
    assert model.out_channels == 192 * cfg.get('num_transformers', 1)
    tokens.square().mean().backward()
    for pname, p in model.named_parameters():
        if p.requires_grad:
            assert p.grad is not None, f'{name}: {pname} got no gradient'
        else:
            assert pname == 'pos_embed', f'{name}: {pname} is frozen'


def test_input_checks():
    with pytest.raises(AssertionError, match=r'patch_size \(3, 4\)'):
        TokenPose(patch_size=(3, 4))  # (w, h) given: 64 % 3 != 0
    with pytest.raises(AssertionError, match='stem="hrnet"'):
        TokenPose(stem='hrnet')
    model = TokenPose(input_size=(24, 32))
    with pytest.raises(AssertionError, match='built for input_size'):
        model(torch.randn(1, 3, 24, 32))


def test_init_weights_authors_rules_and_pretrained_last(tmp_path):
    torch.manual_seed(0)
    model = TokenPose(input_size=(24, 32), depth=2)
    sine = model.pos_embed.detach().clone()
    model.init_weights()
    assert not model.pos_embed.requires_grad
    torch.testing.assert_close(model.pos_embed.detach(), sine)
    assert 0.01 < model.keypoint_tokens.std() < 0.03
    layer = model.transformers[0].layers[0]
    assert torch.all(layer.norm1.weight == 1) and torch.all(
        layer.norm1.bias == 0)
    assert torch.all(layer.mlp.fc1.bias == 0)
    assert abs(layer.mlp.fc1.weight.std() - 0.02) < 0.003
    # HRNet's init for the stem: Normal(std 0.001) convs
    assert model.stem.conv1.weight.std() < 0.002
    # a Pretrained init_cfg of the backbone wins over the own init
    path = str(tmp_path / 'tokenpose.pth')
    torch.save(model.state_dict(), path)
    loaded = TokenPose(
        input_size=(24, 32),
        depth=2,
        init_cfg=dict(type='Pretrained', checkpoint=path))
    loaded.init_weights()
    for key, value in model.state_dict().items():
        torch.testing.assert_close(
            loaded.state_dict()[key], value, msg=f'{key} not loaded')


def test_hrnet_stem_equals_mmpose_hrnet_up_to_stage3():
    """Same names and outputs as mmpose's HRNet: ImageNet HRNet weights
    load by name; only the last stage-3 module's fusions into the lower
    branches are absent (multi_scale_output=False, as the authors)."""
    torch.manual_seed(0)
    ours = HRNetStem(W32)
    stage4 = dict(
        num_modules=1,
        num_branches=4,
        block='BASIC',
        num_blocks=(1, 1, 1, 1),
        num_channels=(32, 64, 128, 256))
    theirs = HRNet(dict(W32, stage4=stage4))
    ours.eval()  # HRNet.train() returns None: no chaining
    theirs.eval()
    mine, full = ours.state_dict(), theirs.state_dict()
    for key, value in mine.items():
        assert key in full and full[key].shape == value.shape, key
    extra = {
        k
        for k in full
        if k not in mine and not k.startswith(('stage4', 'transition3'))
    }
    assert extra and all(k.startswith('stage3.3.fuse_layers.') for k in extra)
    ours.load_state_dict({k: full[k] for k in mine})
    x = torch.randn(1, 3, 64, 48)
    with torch.no_grad():
        y = theirs.relu(theirs.norm1(theirs.conv1(x)))
        y = theirs.layer1(theirs.relu(theirs.norm2(theirs.conv2(y))))
        ys = theirs.stage2(
            [t(y) if t is not None else y for t in theirs.transition1])
        ys = theirs.stage3([
            t(ys[-1]) if t is not None else ys[i]
            for i, t in enumerate(theirs.transition2)
        ])
        out = ours(x)
    assert out.shape == (1, 32, 16, 12)
    torch.testing.assert_close(out, ys[0])


def test_resnet_stem_has_the_authors_names():
    names = {k.split('.')[0] for k in HRNetStem(RESNET_STEM).state_dict()}
    assert names == {'conv1', 'bn1', 'conv2', 'bn2', 'layer1'}
    assert 'layer1.0.downsample.0.weight' in HRNetStem(
        RESNET_STEM).state_dict()


# ---------------------------------------------------------------- #Params


def heatmap_head(in_channels, heatmap_size):
    # a 4x downsampling DARK codec gives the (W, H) heatmap size
    input_size = tuple(4 * s for s in heatmap_size)
    return TokenPoseHeatmapHead(
        in_channels, 17,
        dict(
            type='DarkHeatmap',
            input_size=input_size,
            heatmap_size=heatmap_size))


def simdr_head(input_size, split_ratio):
    codec = dict(
        type='SimDRLabel', input_size=input_size, split_ratio=split_ratio)
    return SimDRHead(
        None, 17, codec, embedding_dim=192, deconv_out_channels=None)


def test_params_tokenpose_s_v1_heatmap_256x192_equal_the_authors():
    model = TokenPose()
    total = n_params(model, heatmap_head(192, (48, 64)))
    assert total == 6_669_888, (
        f'TokenPose-S-v1 + MLP head: {total:,} parameters, the authors '
        'count 6,669,888')
    assert model.pos_embed.numel() == 49_152


@pytest.mark.parametrize(
    'input_size,patch_size,split_ratio,paper',
    [((192, 256), (4, 3), 2.0, 5.5e6), ((128, 128), (2, 2), 3.0, 5.1e6),
     ((64, 64), (1, 1), 3.0, 4.9e6)],
    ids=['256x192', '128x128', '64x64'])
def test_params_tokenpose_s_simdr_within_2_percent(input_size, patch_size,
                                                   split_ratio, paper):
    total = n_params(
        TokenPose(input_size=input_size, patch_size=patch_size),
        simdr_head(input_size, split_ratio))
    assert abs(total / paper - 1) < 0.02, (
        f'TokenPose-S + SimDR at {input_size}: {total:,} vs {paper:,.0f}')


@pytest.mark.parametrize(
    'name,head_in,paper', [('B', 192, 13.5e6), ('L-D24', 576, 28e6)],
    ids=['B', 'L-D24'])
def test_params_tokenpose_b_l_within_2_percent(name, head_in, paper):
    cfg = dict(VARIANTS[name], input_size=(192, 256))
    total = n_params(TokenPose(**cfg), heatmap_head(head_in, (48, 64)))
    assert abs(total / paper -
               1) < 0.02, (f'TokenPose-{name}: {total:,} vs {paper:,.0f}')
