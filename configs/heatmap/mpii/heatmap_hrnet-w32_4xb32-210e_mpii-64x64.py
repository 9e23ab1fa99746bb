# HRNet-W32, heatmap, MPII 64x64: SimDR paper Appendix C, Table 8
# (augmentation as on COCO, as the paper says).

_base_ = [
    '../../_base_/data/mpii.py',
    '../../_base_/augmentation/hrnet_mpii.py',
    '../../_base_/schedules/adam_210e.py',
    '../../_base_/models/hrnet_w32.py'
]

# codec: the values and their sources are in configs/recipes.yml
codec = dict(
    type='MSRAHeatmap', input_size=(64, 64), heatmap_size=(16, 16), sigma=1)

model = dict(
    head=dict(
        type='HeatmapHead',
        in_channels=32,
        out_channels=16,
        deconv_out_channels=None,
        loss=dict(type='KeypointMSELoss', use_target_weight=True),
        decoder=codec),
    test_cfg=dict(
        flip_test=True,
        flip_mode='heatmap',
        shift_heatmap=True,
    ))

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
