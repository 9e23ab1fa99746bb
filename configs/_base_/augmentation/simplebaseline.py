# Training augmentation of SimDR's SimpleBaseline (ResNet) COCO files
# (leeyegy/SimCC experiments/coco/resnet/*/*.yaml): FLIP true,
# SCALE_FACTOR 0.3, ROT_FACTOR 40 (p 0.6, no shift) and no half-body
# augmentation (PROB_HALF_BODY not set: lib/config/default.py gives 0.0).
# Ranges mapped to mmpose's truncated normal as in hrnet.py; COCO data as
# there.

_base_ = ['../data/coco.py']

train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomBBoxTransform', shift_prob=0., rotate_prob=0.6,
         scale_factor=(0.7, 1.3), rotate_factor=80.),
    dict(type='TopdownAffine'),
    dict(type='GenerateTarget'),
    dict(type='PackPoseInputs'),
]))
