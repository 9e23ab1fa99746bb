# TokenPose-S-v1 (leeyegy/TokenPose lib/models/tokenpose_base.py,
# TokenPose_S_base; experiments/coco/tokenpose/tokenpose_s_v1.yaml):
# stem-net (stride 4, 256 channels), 4x3 patches of the 64x48 map at
# 256x192 (16x16 = 256 tokens), D 192, depth 12, 8 heads, MLP 576,
# attention scale D^-0.5, 2D sine encoding on the visual tokens before
# every layer. The model config sets input_size (and patch_size where the
# input is not 256x192).

_base_ = ['./topdown.py']

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
