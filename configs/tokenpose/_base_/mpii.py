# MPII top-down data for TokenPose: train and val with the annotated person
# centre and scale, PCKh from the head boxes.
#
# As in ``coco.py``, the loaders have no pipeline here: each model config
# binds TopdownAffine and GenerateTarget to its own ``codec``.

_base_ = ['./runtime_300e.py']

# hooks
default_hooks = dict(checkpoint=dict(save_best='PCK', rule='greater'))

# base dataset settings
dataset_type = 'CheckedMpiiDataset'
data_mode = 'topdown'
data_root = 'data/mpii/'

# augmentation of the HRNet code base's MPII experiments, on which
# TokenPose's are built: flip, scale 0.25 and rotation 30 deg (p 0.6), no
# half body (PROB_HALF_BODY -1); in mmpose's truncated-normal form
# scale_factor=(0.75, 1.25) and rotate_factor=60 give the same ranges (see
# coco.py)
train_transforms = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(
        type='RandomBBoxTransform',
        shift_prob=0.,
        scale_factor=(0.75, 1.25),
        rotate_factor=60.,
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
        ann_file='annotations/mpii_train.json',
        data_prefix=dict(img='images/'),
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
        ann_file='annotations/mpii_val.json',
        headbox_file=f'{data_root}annotations/mpii_gt_val.mat',
        data_prefix=dict(img='images/'),
        test_mode=True,
    ))
test_dataloader = val_dataloader

# evaluators
val_evaluator = dict(type='MpiiPCKAccuracy')
test_evaluator = val_evaluator
