# MPII top-down data: train, and val with the annotated person centre and
# scale (no detector boxes); PCKh from the head boxes (the HRNet testing
# procedure, SimDR paper App. C). An MPII config is its COCO counterpart
# (16 keypoints) with ``mpii_train`` / ``mpii_val`` as the loaders' data
# sets and ``mpii_metric`` as evaluator.
#
# Training augmentation of the HRNet code base's MPII experiments, kept by
# SimDR's (leeyegy/SimCC experiments/mpii/hrnet/*/*.yaml l.17-22) and
# TokenPose's MPII files: FLIP true, SCALE_FACTOR 0.25, ROT_FACTOR 30 (p 0.6,
# no shift), PROB_HALF_BODY -1 (off), sampled as the authors' JointsDataset
# (../augmentation/hrnet.py); MPII boxes are the annotated centre and scale,
# with no box cleaning. ``mpii_train`` replaces the COCO parent's training
# data set whole (``_delete_``): an MPII config passes its full codec.

mpii_train = dict(
    _delete_=True,
    type='CheckedMpiiDataset',
    data_root='data/mpii/',
    ann_file='annotations/mpii_train.json',
    data_prefix=dict(img='images/'),
    pipeline=[
        dict(type='LoadImage'), dict(type='GetBBoxCenterScale'),
        dict(type='RandomFlip', direction='horizontal'),
        dict(type='JointsDatasetBBoxTransform', scale_factor=0.25,
             rotate_factor=30., rotate_prob=0.6),
        dict(type='TopdownAffine'), dict(type='GenerateTarget'),
        dict(type='PackPoseInputs')
    ])
mpii_val = dict(
    type='CheckedMpiiDataset',
    data_root='data/mpii/',
    ann_file='annotations/mpii_val.json',
    bbox_file=None,
    headbox_file='data/mpii/annotations/mpii_gt_val.mat',
    data_prefix=dict(img='images/'))
mpii_metric = dict(_delete_=True, type='MpiiPCKAccuracy')
