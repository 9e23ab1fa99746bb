# SimBa-Res50 without deconvolutions, SimDR, COCO 128x128: SimDR paper
# Table 4. A 1x1 conv maps the stride-32 map to K * 32 channels and each
# keypoint's 32 maps are flattened together (leeyegy/SimCC
# lib/models/pose_resnet_upfree.py, CHANNEL_PER_JOINT 32 in
# experiments/coco/resnet/simdr/upsample_free/*_128x128_*cpj32.yaml).

_base_ = [
    '../../_base_/data/coco.py',
    '../../_base_/augmentation/simplebaseline.py',
    '../../_base_/schedules/adam_140e.py',
    '../../_base_/models/resnet50.py'
]

# codec: the values and their sources are in configs/recipes.yml
codec = dict(
    type='SimDRLabel',
    input_size=(128, 128),
    split_ratio=3.0,
    label_smoothing=0.1)

model = dict(
    head=dict(
        type='SimDRHead',
        in_channels=2048,
        out_channels=17,
        input_size=codec['input_size'],
        split_ratio=codec['split_ratio'],
        in_featuremap_stride=32,
        deconv_out_channels=None,
        channels_per_joint=32,
        loss=dict(type='LabelSmoothCELoss', use_target_weight=True),
        decoder=codec),
    test_cfg=dict(flip_test=True))

# 4 GPUs x 32 images
auto_scale_lr = dict(base_batch_size=128)

# rescoring: mean of the keypoint scores above 0.02
val_evaluator = dict(keypoint_score_thr=0.02)
test_evaluator = val_evaluator

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
