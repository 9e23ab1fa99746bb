# Schedule of the HRNet/SimDR HRNet files (leeyegy/SimCC
# experiments/*/hrnet): Adam 1e-3, x0.1 at 170 and 200, 210 epochs; no warm-
# up (their train.py steps a MultiStepLR once per epoch from the first).

_base_ = ['../default_runtime.py']

train_cfg = dict(max_epochs=210, val_interval=10)

optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-3))

param_scheduler = [
    dict(
        type='MultiStepLR',
        begin=0,
        end=210,
        milestones=[170, 200],
        gamma=0.1,
        by_epoch=True)
]
