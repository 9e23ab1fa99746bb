# TokenPose-L/D6 with SimDR, MPII 256x256 (no paper row).

_base_ = ['../_base_/mpii.py', '../_base_/hrnet_stems.py']

# codec settings: k = 2 at 256x256 (the SimDR authors' MPII setting);
# label smoothing 0.1
codec = dict(
    type='SimDRLabel',
    input_size=(256, 256),
    split_ratio=2.0,
    label_smoothing=0.1)

# model settings: the TokenPose-L/D6 backbone of
# dark_tokenpose-l-d6_8xb32-300e_mpii-256x256.py; SimDR's linear layers
# read the 576-long fused keypoint tokens
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
        type='SimDRHead',
        in_channels=576,
        out_channels=16,
        input_size=codec['input_size'],
        split_ratio=codec['split_ratio'],
        embedding_dim=576,
        deconv_out_channels=None,
        loss=dict(type='LabelSmoothCELoss', use_target_weight=True),
        decoder=codec),
    test_cfg=dict(flip_test=True))

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
