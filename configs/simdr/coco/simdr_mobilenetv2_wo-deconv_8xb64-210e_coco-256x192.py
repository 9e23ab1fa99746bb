# MobileNetV2 without deconvolutions, SimDR head, COCO 256x192: the
# architecture and training of mmpose's released SimCC model
# (simcc_mobilenetv2_wo-deconv-8xb64-210e_coco-256x192), whose weights load
# unchanged: a 1x1 conv to K maps on the stride-32 map (t = 1).

_base_ = ['mmpose::_base_/default_runtime.py']

custom_imports = dict(imports=['simdr_ext'], allow_failed_imports=False)

# weights released by mmpose for this architecture (converted:
# loaded as published, see model_zoo.md)
load_from = ('https://download.openmmlab.com/mmpose/v1/body_2d_keypoint/si'
             'mcc/coco/simcc_mobilenetv2_wo-deconv-8xb64-210e_coco-256x192'
             '-4b0703bb_20221010.pth')

# runtime
train_cfg = dict(max_epochs=210, val_interval=10)

# optimizer
optim_wrapper = dict(optimizer=dict(type='Adam', lr=5e-4))

# learning policy: Adam 5e-4, 500-iteration warm-up,
# x0.1 at epochs 170 and 200
# (mmpose's simcc_mobilenetv2_wo-deconv-8xb64-210e_coco-256x192)
param_scheduler = [
    dict(
        type='LinearLR', begin=0, end=500, start_factor=0.001,
        by_epoch=False),  # warm-up
    dict(
        type='MultiStepLR',
        begin=0,
        end=210,
        milestones=[170, 200],
        gamma=0.1,
        by_epoch=True)
]

# automatically scaling LR based on the actual training batch size
# (8 GPUs x 64 images)
auto_scale_lr = dict(base_batch_size=512)

# hooks
default_hooks = dict(checkpoint=dict(save_best='coco/AP', rule='greater'))

# codec settings
# Gaussian labels (sigma 6 bins, centre rounded) with a KL loss, as
# mmpose's SimCCLabel/KLDiscretLoss, so that training with this config
# repeats the released model; the decoder takes the argmax, like mmpose's
codec = dict(
    type='SASimDRLabel',
    input_size=(192, 256),
    split_ratio=2.0,
    sigma=6.0,
    normalize=True,
    round_center=True)

# model settings
model = dict(
    type='TopdownPoseEstimator',
    data_preprocessor=dict(
        type='PoseDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True),
    backbone=dict(
        type='MobileNetV2',
        widen_factor=1.,
        out_indices=(7, ),
        init_cfg=dict(type='Pretrained', checkpoint='mmcls://mobilenet_v2')),
    head=dict(
        type='SimDRHead',
        in_channels=1280,
        out_channels=17,
        input_size=codec['input_size'],
        split_ratio=codec['split_ratio'],
        in_featuremap_stride=32,
        deconv_out_channels=None,
        loss=dict(type='SimDRKLLoss', use_target_weight=True),
        decoder=codec),
    test_cfg=dict(flip_test=True))

# base dataset settings
dataset_type = 'CocoDataset'
data_mode = 'topdown'
data_root = 'data/coco/'

# pipelines (mmpose's default top-down augmentation, as in the
# released model's training)
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomHalfBody'),
    dict(type='RandomBBoxTransform'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs')
]
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='PackPoseInputs')
]

# data loaders
train_dataloader = dict(
    batch_size=64,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        ann_file='annotations/person_keypoints_train2017.json',
        data_prefix=dict(img='train2017/'),
        pipeline=train_pipeline,
    ))
# val/test: person boxes of the detector with 56.4 AP that the paper
# and mmpose use
val_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        ann_file='annotations/person_keypoints_val2017.json',
        bbox_file=f'{data_root}person_detection_results/'
        'COCO_val2017_detections_AP_H_56_person.json',
        data_prefix=dict(img='val2017/'),
        test_mode=True,
        pipeline=val_pipeline,
    ))
test_dataloader = val_dataloader

# evaluators
val_evaluator = dict(
    type='CocoMetric',
    ann_file=data_root + 'annotations/person_keypoints_val2017.json')
test_evaluator = val_evaluator
