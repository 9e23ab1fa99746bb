# TokenPose-S-v1 with SimDR, COCO 128x128: the SimDR row of SimDR Table 2
# (70.4 AP, 5.1M #Params).

_base_ = [
    '../../_base_/data/coco.py',
    '../../_base_/augmentation/hrnet.py',
    '../../_base_/schedules/adam_210e.py',
    '../../_base_/models/tokenpose_s.py'
]

# codec: the values and their sources are in configs/recipes.yml
codec = dict(
    type='SimDRLabel',
    input_size=(128, 128),
    split_ratio=3.0,
    label_smoothing=0.1)

model = dict(
    backbone=dict(input_size=codec['input_size'], patch_size=(2, 2)),
    head=dict(
        type='SimDRHead',
        in_channels=192,
        out_channels=17,
        input_size=codec['input_size'],
        split_ratio=codec['split_ratio'],
        embedding_dim=192,
        deconv_out_channels=None,
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
