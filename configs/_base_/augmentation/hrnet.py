# Training augmentation of the HRNet code base's COCO experiments, which
# SimDR's HRNet files (leeyegy/SimCC experiments/coco/hrnet/*/*.yaml) keep:
# FLIP true, PROB_HALF_BODY 0.3, SCALE_FACTOR 0.35, ROT_FACTOR 45 (applied
# with p 0.6, no shift). Their JointsDataset draws
# s *= clip(N(1, 0.35), 0.65, 1.35) and r = clip(N(0, 45), -90, 90);
# mmpose's RandomBBoxTransform draws a normal truncated to [-1, 1] times
# the factor, so the same ranges are scale_factor=(0.65, 1.35) and
# rotate_factor=90 (mmpose's HRNet configs turn ROT_FACTOR 40 into 80).
# COCO data (../data/coco.py) with this training pipeline; TopdownAffine
# and GenerateTarget take the input size and the encoder from the data
# set's ``codec``.

_base_ = ['../data/coco.py']

train_dataloader = dict(dataset=dict(pipeline=[
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
    dict(type='TopdownAffine'),
    dict(type='GenerateTarget'),
    dict(type='PackPoseInputs'),
]))
