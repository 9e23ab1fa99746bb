# A top-down estimator with ImageNet input normalisation (RGB); the
# backbone bases add a backbone, each model config a head and test_cfg.

model = dict(
    type='TopdownPoseEstimator',
    data_preprocessor=dict(
        type='PoseDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True))
