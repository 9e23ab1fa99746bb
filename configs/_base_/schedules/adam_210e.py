# Schedule of the HRNet/SimDR HRNet files (leeyegy/SimCC
# experiments/*/hrnet): as adam_140e.py (Adam 1e-3, no warm-up) with x0.1
# at 170 and 200, 210 epochs.

_base_ = ['./adam_140e.py']

train_cfg = dict(max_epochs=210)
param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=210, milestones=[170, 200],
         gamma=0.1, by_epoch=True)
]
