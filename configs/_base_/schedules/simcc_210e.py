# Schedule of mmpose's released SimCC models
# (configs/body_2d_keypoint/simcc/coco/simcc_*-210e_*.py): adam_210e.py
# after a 500-iteration linear warm-up from 0.001x.

_base_ = ['./adam_210e.py']

param_scheduler = [
    dict(type='LinearLR', begin=0, end=500, start_factor=0.001,
         by_epoch=False),  # warm-up
] + _base_.param_scheduler
