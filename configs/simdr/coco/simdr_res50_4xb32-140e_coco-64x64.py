# SimBa-Res50, SimDR, COCO 64x64: SimDR paper Table 2.
# SimpleBaseline encoder: 3 deconvolutions and a 1x1 conv to K maps,
# each flattened to one embedding, then the two linear classifiers.

_base_ = [
    '../../_base_/data/coco.py',
    '../../_base_/augmentation/simplebaseline.py',
    '../../_base_/schedules/adam_140e.py',
    '../../_base_/models/resnet50.py'
]

# codec: the values and their sources are in configs/recipes.yml
codec = dict(
    type='SimDRLabel',
    input_size=(64, 64),
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
        deconv_out_channels=(256, 256, 256),
        deconv_kernel_sizes=(4, 4, 4),
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
