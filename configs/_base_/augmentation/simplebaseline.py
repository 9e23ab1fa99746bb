# Training augmentation of SimDR's SimpleBaseline (ResNet) COCO files
# (leeyegy/SimCC experiments/coco/resnet/*/*.yaml): FLIP true,
# SCALE_FACTOR 0.3, ROT_FACTOR 40 (p 0.6, no shift) and no half-body
# augmentation (PROB_HALF_BODY not set: lib/config/default.py gives 0.0),
# sampled as the authors' JointsDataset (see hrnet.py); the training boxes
# cleaned as theirs (bbox_clip='authors'); COCO data as there.

_base_ = ['../data/coco.py']

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='JointsDatasetBBoxTransform', scale_factor=0.3,
         rotate_factor=40., rotate_prob=0.6),
    dict(type='TopdownAffine'),
    dict(type='GenerateTarget'),
    dict(type='PackPoseInputs'),
]
train_dataloader = dict(
    dataset=dict(bbox_clip='authors', pipeline=train_pipeline))
