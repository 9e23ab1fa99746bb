# TokenPose-L/D6 with DARK heatmaps, MPII 256x256 (TokenPose Sec. 4.3).

_base_ = [
    '../../_base_/data/mpii.py',
    '../../_base_/augmentation/hrnet_mpii.py',
    '../../_base_/schedules/adam_300e.py',
    '../../_base_/models/tokenpose_l.py'
]

# codec: the values and their sources are in configs/recipes.yml
codec = dict(
    type='DarkHeatmap',
    input_size=(256, 256),
    heatmap_size=(64, 64),
    sigma=2,
    unbiased=True,
    decode_mode='dark',
    blur_kernel_size=11)

model = dict(
    backbone=dict(input_size=codec['input_size'], patch_size=(4, 4), depth=2, num_heads=8, num_keypoints=16),
    head=dict(
        type='TokenPoseHeatmapHead',
        in_channels=576,
        out_channels=16,
        heatmap_size=codec['heatmap_size'],
        loss=dict(type='KeypointMSELoss', use_target_weight=True),
        decoder=codec),
    test_cfg=dict(flip_test=True, flip_mode='heatmap', shift_heatmap=False))

# 4 GPUs x 16 images
auto_scale_lr = dict(base_batch_size=64)

train_dataloader = dict(
    batch_size=16,
    dataset=dict(pipeline=_base_.train_transforms + [
        dict(type='TopdownAffine', input_size=codec['input_size']),
        dict(type='GenerateTarget', encoder=codec),
        dict(type='PackPoseInputs')
    ]))
val_dataloader = dict(
    dataset=dict(pipeline=_base_.val_transforms + [
        dict(type='TopdownAffine', input_size=codec['input_size']),
        dict(type='PackPoseInputs')
    ]))
test_dataloader = val_dataloader
