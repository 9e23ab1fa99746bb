# Schedule of the SimpleBaseline/SimDR ResNet files (leeyegy/SimCC
# experiments/coco/resnet): Adam 1e-3, x0.1 at 90 and 120, 140 epochs; no
# warm-up (their train.py steps a MultiStepLR once per epoch from the first);
# the authors' files train on 4 GPUs x 32 images (GPUS, BATCH_SIZE_PER_GPU),
# which configs with another batch override.

_base_ = ['../default_runtime.py']

train_cfg = dict(max_epochs=140, val_interval=10)

optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-3))
auto_scale_lr = dict(base_batch_size=128)

param_scheduler = [
    dict(
        type='MultiStepLR',
        begin=0,
        end=140,
        milestones=[90, 120],
        gamma=0.1,
        by_epoch=True)
]
