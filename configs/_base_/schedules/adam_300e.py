# Schedule of the TokenPose files (leeyegy/TokenPose
# experiments/*/tokenpose): as adam_140e.py (Adam 1e-3, no warm-up) with
# x0.1 at 200 and 260, 300 epochs.

_base_ = ['./adam_140e.py']

train_cfg = dict(max_epochs=300)
param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=300, milestones=[200, 260],
         gamma=0.1, by_epoch=True)
]
