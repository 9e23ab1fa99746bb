# Training augmentation of mmpose's SimCC configs
# (configs/body_2d_keypoint/simcc/coco/simcc_*.py): flip, RandomHalfBody
# and RandomBBoxTransform at mmpose's defaults.

train_transforms = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomHalfBody'),
    dict(type='RandomBBoxTransform'),
]
val_transforms = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
]
