# TokenPose-S-v1 with DARK heatmaps, COCO 128x128: the heatmap row of SimDR
# Table 2 (65.4 AP with DARK post-processing, 5.2M #Params).

_base_ = [
    '../../_base_/data/coco.py',
    '../../_base_/augmentation/hrnet.py',
    '../../_base_/schedules/adam_210e.py',
    '../../_base_/models/tokenpose_s.py'
]

# codec: the values and their sources are in configs/recipes.yml
codec = dict(
    type='DarkHeatmap',
    input_size=(128, 128),
    heatmap_size=(32, 32),
    sigma=1,
    unbiased=True,
    decode_mode='dark',
    blur_kernel_size=3)

model = dict(
    backbone=dict(input_size=codec['input_size'], patch_size=(2, 2)),
    head=dict(
        type='TokenPoseHeatmapHead',
        in_channels=192,
        out_channels=17,
        heatmap_size=codec['heatmap_size'],
        loss=dict(type='KeypointMSELoss', use_target_weight=True),
        decoder=codec),
    test_cfg=dict(flip_test=True, flip_mode='heatmap', shift_heatmap=False))

# 4 GPUs x 32 images
auto_scale_lr = dict(base_batch_size=128)

train_dataloader = dict(
    batch_size=32,
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
