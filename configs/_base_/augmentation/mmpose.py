# Training augmentation of mmpose's SimCC configs
# (configs/body_2d_keypoint/simcc/coco/simcc_*.py): flip, RandomHalfBody
# and RandomBBoxTransform at mmpose's defaults; COCO data as in hrnet.py.

_base_ = ['../data/coco.py']

train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomHalfBody'),
    dict(type='RandomBBoxTransform'),
    dict(type='TopdownAffine'),
    dict(type='GenerateTarget'),
    dict(type='PackPoseInputs'),
]))
