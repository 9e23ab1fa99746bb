# Metainfo of the 5-keypoint example data set (docs/custom_dataset.md), in
# mmpose's layout (mmpose/configs/_base_/datasets/coco.py): the keypoints
# with their flip partners ("swap"), the skeleton drawn by the visualiser,
# the loss weight of each keypoint and the OKS sigmas of the COCO metric
# (here COCO's own sigmas of these five keypoints).
dataset_info = dict(
    dataset_name='custom5',
    paper_info=dict(
        author='simdr_ext',
        title='5 keypoints of the bundled COCO people',
        container='docs/custom_dataset.md',
        year='2024',
        homepage='',
    ),
    keypoint_info={
        0:
        dict(name='nose', id=0, color=[51, 153, 255], type='upper',
             swap=''),
        1:
        dict(name='left_eye', id=1, color=[0, 255, 0], type='upper',
             swap='right_eye'),
        2:
        dict(name='right_eye', id=2, color=[255, 128, 0], type='upper',
             swap='left_eye'),
        3:
        dict(name='left_shoulder', id=3, color=[0, 255, 0], type='upper',
             swap='right_shoulder'),
        4:
        dict(name='right_shoulder', id=4, color=[255, 128, 0],
             type='upper', swap='left_shoulder'),
    },
    skeleton_info={
        0: dict(link=('nose', 'left_eye'), id=0, color=[0, 255, 0]),
        1: dict(link=('nose', 'right_eye'), id=1, color=[255, 128, 0]),
        2: dict(link=('left_shoulder', 'right_shoulder'), id=2,
                color=[51, 153, 255]),
        3: dict(link=('nose', 'left_shoulder'), id=3, color=[0, 255, 0]),
        4: dict(link=('nose', 'right_shoulder'), id=4,
                color=[255, 128, 0]),
    },
    joint_weights=[1., 1., 1., 1., 1.],
    sigmas=[0.026, 0.025, 0.025, 0.079, 0.079])
