# Schedule of the SimpleBaseline/SimDR ResNet files (leeyegy/SimCC
# experiments/coco/resnet): Adam 1e-3, x0.1 at 90 and 120, 140 epochs; no
# warm-up (their train.py steps a MultiStepLR once per epoch from the first).

_base_ = ['../default_runtime.py']

train_cfg = dict(max_epochs=140, val_interval=10)

optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-3))

param_scheduler = [
    dict(
        type='MultiStepLR',
        begin=0,
        end=140,
        milestones=[90, 120],
        gamma=0.1,
        by_epoch=True)
]
