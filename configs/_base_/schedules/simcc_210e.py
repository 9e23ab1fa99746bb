# Schedule of mmpose's released SimCC models
# (configs/body_2d_keypoint/simcc/coco/simcc_*-210e_*.py): Adam 1e-3 after a
# 500-iteration linear warm-up from 0.001x, x0.1 at epochs 170 and 200.

_base_ = ['../default_runtime.py']

train_cfg = dict(max_epochs=210, val_interval=10)

optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-3))

param_scheduler = [
    dict(
        type='LinearLR', begin=0, end=500, start_factor=0.001,
        by_epoch=False),  # warm-up
    dict(
        type='MultiStepLR',
        begin=0,
        end=210,
        milestones=[170, 200],
        gamma=0.1,
        by_epoch=True)
]
