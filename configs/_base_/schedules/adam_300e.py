# Schedule of the TokenPose files (leeyegy/TokenPose
# experiments/*/tokenpose): Adam 1e-3, x0.1 at 200 and 260, 300 epochs; no
# warm-up (their train.py steps a MultiStepLR once per epoch from the first).

_base_ = ['../default_runtime.py']

train_cfg = dict(max_epochs=300, val_interval=10)

optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-3))

param_scheduler = [
    dict(
        type='MultiStepLR',
        begin=0,
        end=300,
        milestones=[200, 260],
        gamma=0.1,
        by_epoch=True)
]
