# Training augmentation of the HRNet code base's MPII experiments, kept by
# SimDR's (leeyegy/SimCC experiments/mpii/hrnet/*/*.yaml) and TokenPose's
# MPII files: FLIP true, SCALE_FACTOR 0.25, ROT_FACTOR 30 (p 0.6, no
# shift), PROB_HALF_BODY -1 (off). Ranges mapped to mmpose's truncated
# normal as in hrnet.py.

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
