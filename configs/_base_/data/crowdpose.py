# CrowdPose top-down data: trainval for training, the test set with the
# YOLOv3 person boxes of mmpose's CrowdPose configs (SimDR paper App. B).
# A CrowdPose config is its COCO counterpart (14 keypoints) with
# ``crowdpose_train`` / ``crowdpose_val`` as the loaders' data sets and
# ``crowdpose_metric`` as evaluator.

crowdpose_train = dict(
    type='CheckedCrowdPoseDataset',
    data_root='data/crowdpose/',
    ann_file='annotations/mmpose_crowdpose_trainval.json',
    data_prefix=dict(img='images/'))
crowdpose_val = dict(
    crowdpose_train,
    ann_file='annotations/mmpose_crowdpose_test.json',
    bbox_file='data/crowdpose/annotations/det_for_crowd_test_0.1_0.5.json')
crowdpose_metric = dict(
    ann_file='data/crowdpose/annotations/mmpose_crowdpose_test.json',
    use_area=False,
    iou_type='keypoints_crowd',
    prefix='crowdpose')
