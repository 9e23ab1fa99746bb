# TokenPose-T with DARK heatmaps, COCO 256x192: a pure transformer on 16x12
# patches of the RGB image (TokenPose Sec. 4, Table 1).

_base_ = [
    '../../_base_/data/coco.py',
    '../../_base_/augmentation/hrnet.py',
    '../../_base_/schedules/adam_300e.py',
    '../../_base_/models/tokenpose_t.py'
]

# codec: the values and their sources are in configs/recipes.yml
codec = dict(
    type='DarkHeatmap',
    input_size=(192, 256),
    heatmap_size=(48, 64),
    sigma=2,
    unbiased=True,
    decode_mode='dark',
    blur_kernel_size=11)

model = dict(
    backbone=dict(input_size=codec['input_size']),
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
