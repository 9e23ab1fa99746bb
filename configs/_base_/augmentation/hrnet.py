# Training augmentation of the HRNet code base's COCO experiments, which
# SimDR's HRNet files (leeyegy/SimCC experiments/coco/hrnet/*/*.yaml) keep:
# FLIP true, PROB_HALF_BODY 0.3, SCALE_FACTOR 0.35, ROT_FACTOR 45 (applied
# with p 0.6, no shift). Their JointsDataset draws
# s *= clip(N(1, 0.35), 0.65, 1.35) and r = clip(N(0, 45), -90, 90)
# (lib/dataset/JointsDataset.py l.165-169) after the half-body crop
# (l.156-163, more than NUM_JOINTS_HALF_BODY 8 visible keypoints): the
# JointsDataset* transforms sample exactly that. The training boxes are
# cleaned as the authors' lib/dataset/coco.py l.146-175 does
# (bbox_clip='authors'). COCO data (../data/coco.py) with this training
# pipeline; TopdownAffine and GenerateTarget take the input size and the
# encoder from the data set's ``codec``.

_base_ = ['../data/coco.py']

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='JointsDatasetHalfBody', prob=0.3, num_joints_half_body=8),
    dict(
        type='JointsDatasetBBoxTransform',
        scale_factor=0.35,
        rotate_factor=45.,
        rotate_prob=0.6),
    dict(type='TopdownAffine'),
    dict(type='GenerateTarget'),
    dict(type='PackPoseInputs'),
]
train_dataloader = dict(
    dataset=dict(bbox_clip='authors', pipeline=train_pipeline))
