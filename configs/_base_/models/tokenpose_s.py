# TokenPose-S-v1 (leeyegy/TokenPose lib/models/tokenpose_base.py,
# TokenPose_S_base; experiments/coco/tokenpose/tokenpose_s_v1.yaml):
# stem-net (stride 4, 256 channels), 4x3 patches of the 64x48 map at
# 256x192 (16x16 = 256 tokens), D 192, depth 12, 8 heads, MLP 576,
# attention scale D^-0.5, 2D sine encoding on the visual tokens before
# every layer. The model config sets input_size (and patch_size where the
# input is not 256x192); the other sizes are changes to S, below.

_base_ = ['./topdown.py', './hrnet_widths.py']

model = dict(
    backbone=dict(
        type='TokenPose',
        stem='resnet',
        patch_size=(4, 3),
        embed_dims=192,
        depth=12,
        num_heads=8,
        mlp_ratio=3,
        num_transformers=1,
        scale_with_head=False,
        pos_embed='sine',
        num_keypoints=17))

# TokenPose-T: a pure transformer on 16x12 patches of the 256x192 RGB image
# (same 16x16 token grid), 16 heads, per-head scale head_dim^-0.5
# (TokenPose_TB_base)
tokenpose_t = dict(
    stem='pure', patch_size=(16, 12), num_heads=16, scale_with_head=True)
# TokenPose-B: HRNet-W32's first three stages (32-channel stride-4 branch,
# ImageNet-pretrained) as the stem (lib/models/pose_tokenpose_b.py), 4x3
# patches, depth 12 and 8 heads as S, scale head_dim^-0.5
tokenpose_b = dict(
    stem='hrnet', hrnet=_base_.hrnet_w32_stem, scale_with_head=True)
# TokenPose-L: HRNet-W48's first three stages (48-channel branch) as the
# stem (lib/models/pose_tokenpose_l.py), three transformer stacks run one
# after another whose keypoint tokens are concatenated (3 x 192 = 576).
# L/D24 (COCO): 3 x 8 layers, 12 heads; L/D6 (MPII) sets 3 x 2, 8 heads.
tokenpose_l = dict(
    stem='hrnet',
    hrnet=_base_.hrnet_w48_stem,
    depth=8,
    num_heads=12,
    num_transformers=3,
    scale_with_head=True)

# the heads read the keypoint tokens (D = 192); the SimDR linear layers
# take the initialisation TokenPose gives every Linear of the model
# (topdown.py's trunc_normal_init)
heatmap_head = dict(type='TokenPoseHeatmapHead', in_channels=192)
simdr_head = dict(
    type='SimDRHead',
    in_channels=192,
    embedding_dim=192,
    deconv_out_channels=None,
    init_cfg=_base_.trunc_normal_init)
