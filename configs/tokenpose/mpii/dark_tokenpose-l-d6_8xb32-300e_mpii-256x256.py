# TokenPose-L/D6 with DARK heatmaps, MPII 256x256 (TokenPose Sec. 4.3).

_base_ = ['../_base_/mpii.py', '../_base_/hrnet_stems.py']

# codec settings: unbiased Gaussian targets (sigma 2 on the 64x64 map) and
# DARK decoding with an 11x11 blur, as on COCO
codec = dict(
    type='DarkHeatmap',
    input_size=(256, 256),
    heatmap_size=(64, 64),
    sigma=2,
    unbiased=True,
    decode_mode='dark',
    blur_kernel_size=11)

# model settings: TokenPose-L/D6: HRNet-W48's first three stages, 4x4
# patches of the 64x64 stride-4 map (16x16 tokens), three stacks of 2
# layers with 8 heads, keypoint tokens of the three concatenated (576);
# the head is LN(576) -> Linear(576, 64 * 64) by the authors' rule
model = dict(
    backbone=dict(
        type='TokenPose',
        input_size=codec['input_size'],
        stem='hrnet',
        hrnet=_base_.hrnet_w48,
        patch_size=(4, 4),
        embed_dims=192,
        depth=2,
        num_heads=8,
        mlp_ratio=3,
        num_transformers=3,
        scale_with_head=True,
        pos_embed='sine',
        num_keypoints=16),
    head=dict(
        type='TokenPoseHeatmapHead',
        in_channels=576,
        out_channels=16,
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
