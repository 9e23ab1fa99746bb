# COCO top-down data: train2017, and val2017 with the person boxes of the
# 56.4 AP detector that SimDR, DarkPose, TokenPose and mmpose test with.
# The augmentation bases (../augmentation/*.py) add the training pipeline
# to these loaders; its TopdownAffine and GenerateTarget take the input size
# and the encoder from the data set's ``codec``, which each model config
# sets to its own. The test pipeline below gets the input size in each model
# config (``codec_loader(codec, _base_.test_pipeline)``), so the config holds
# it as mmpose's ``inference_topdown`` and ``MMPoseInferencer`` build it.
# CrowdPose and MPII configs are COCO configs with the data sets
# of crowdpose.py / mpii.py.

# mmpose's MMPoseInferencer reads the top-level dataset_type and data_mode
dataset_type = 'CheckedCocoDataset'
data_mode = 'topdown'
test_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='TopdownAffine'),
    dict(type='PackPoseInputs'),
]

train_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root='data/coco/',
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
        data_root='data/coco/',
        data_mode=data_mode,
        ann_file='annotations/person_keypoints_val2017.json',
        bbox_file='data/coco/person_detection_results/'
        'COCO_val2017_detections_AP_H_56_person.json',
        data_prefix=dict(img='val2017/'),
        test_mode=True))
test_dataloader = val_dataloader

val_evaluator = dict(
    type='CheckedCocoMetric',
    ann_file='data/coco/annotations/person_keypoints_val2017.json')
test_evaluator = val_evaluator
