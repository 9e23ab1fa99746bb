# TokenPose runtime and schedule (leeyegy/TokenPose experiments/*/tokenpose):
# Adam, lr 1e-3, x0.1 at epochs 200 and 260, 300 epochs, no warm-up.

_base_ = ['mmpose::_base_/default_runtime.py']

custom_imports = dict(imports=['simdr_ext'], allow_failed_imports=False)

# runtime
train_cfg = dict(max_epochs=300, val_interval=10)

# optimizer
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-3))

# learning policy
param_scheduler = [
    dict(
        type='MultiStepLR',
        begin=0,
        end=300,
        milestones=[200, 260],
        gamma=0.1,
        by_epoch=True)
]

# automatically scaling LR based on the actual training batch size
# (8 GPUs x 32 images)
auto_scale_lr = dict(base_batch_size=256)

# model settings: the estimator and its input normalisation (ImageNet);
# each config adds a TokenPose backbone and a head
model = dict(
    type='TopdownPoseEstimator',
    data_preprocessor=dict(
        type='PoseDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True))
