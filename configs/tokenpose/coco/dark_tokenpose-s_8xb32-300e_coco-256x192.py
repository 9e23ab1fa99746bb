# TokenPose-S-v1 with DARK heatmaps, COCO 256x192: TokenPose (arXiv
# 2104.03516) Table 7 "2D sine" row and the heatmap row of SimDR Table 2
# (72.5 AP with DARK post-processing). The other TokenPose DARK configs
# are short deltas from this one.

_base_ = ['../_base_/coco.py']

# codec settings: unbiased Gaussian targets (sigma 2 on the 64x48 map) and
# DARK decoding with an 11x11 blur, as the authors (DARK post-processing,
# TEST.BLUR_KERNEL 11)
codec = dict(
    type='DarkHeatmap',
    input_size=(192, 256),
    heatmap_size=(48, 64),
    sigma=2,
    unbiased=True,
    decode_mode='dark',
    blur_kernel_size=11)

# model settings: TokenPose-S-v1: stem-net (stride 4, 256 channels), 4x3
# patches of the 64x48 map (16x16 = 256 tokens), D 192, depth 12, 8 heads,
# MLP 576, attention scale D^-0.5, 2D sine encoding on the visual tokens
# before every layer; the MLP head LN(192) -> Linear(192, 384) ->
# LN(384) -> Linear(384, 64 * 48)
model = dict(
    backbone=dict(
        type='TokenPose',
        input_size=codec['input_size'],
        stem='resnet',
        patch_size=(4, 3),
        embed_dims=192,
        depth=12,
        num_heads=8,
        mlp_ratio=3,
        num_transformers=1,
        scale_with_head=False,
        pos_embed='sine',
        num_keypoints=17),
    head=dict(
        type='TokenPoseHeatmapHead',
        in_channels=192,
        out_channels=17,
        heatmap_size=codec['heatmap_size'],
        loss=dict(type='KeypointMSELoss', use_target_weight=True),
        decoder=codec),
    test_cfg=dict(flip_test=True, flip_mode='heatmap', shift_heatmap=True))

# pipelines bound to the codec
train_pipeline = _base_.train_transforms + [
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs')
]
val_pipeline = _base_.val_transforms + [
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='PackPoseInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
