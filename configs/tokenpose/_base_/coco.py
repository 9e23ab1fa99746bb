# COCO top-down data for TokenPose: train2017, and val2017 with the person
# boxes of the 56.4 AP detector that TokenPose, SimDR and mmpose use.
#
# The loaders have no pipeline here: each model config appends the
# codec-bound steps (TopdownAffine, GenerateTarget) to ``train_transforms``
# / ``val_transforms`` and sets the loaders' pipelines, so that every
# pipeline is built from that config's own ``codec``.

_base_ = ['./runtime_300e.py']

# hooks
default_hooks = dict(checkpoint=dict(save_best='coco/AP', rule='greater'))

# base dataset settings
dataset_type = 'CheckedCocoDataset'
data_mode = 'topdown'
data_root = 'data/coco/'

# augmentation: flip, half body (p 0.3), scale 0.35 and rotation 45 deg as
# the authors (HRNet code base: s *= clip(N(1, 0.35), 0.65, 1.35),
# r = clip(N(0, 45), -90, 90) with p 0.6, no shift). mmpose draws a
# truncated normal in [-1, 1] times the factor, so the same ranges are
# scale_factor=(0.65, 1.35) and rotate_factor=90.
train_transforms = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomHalfBody', prob=0.3),
    dict(
        type='RandomBBoxTransform',
        shift_prob=0.,
        scale_factor=(0.65, 1.35),
        rotate_factor=90.,
        rotate_prob=0.6),
]
val_transforms = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
]

# data loaders (pipelines set by the model configs)
train_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        ann_file='annotations/person_keypoints_train2017.json',
        data_prefix=dict(img='train2017/'),
    ))
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
    ))
test_dataloader = val_dataloader

# evaluators
val_evaluator = dict(
    type='CocoMetric',
    ann_file=data_root + 'annotations/person_keypoints_val2017.json')
test_evaluator = val_evaluator
