# SimDR quickstart: an overfit check on the 4 COCO val2017 images (12 people
# with keypoints) bundled in tests/data/coco. The model trains and is
# evaluated on the same crops with ground-truth boxes, so its AP shows that
# the data path, the SimDR codec, head and loss and the COCO evaluation work
# end to end; it says nothing about accuracy on unseen people.

_base_ = [
    '../_base_/default_runtime.py', '../_base_/data/coco_mini.py',
    '../_base_/models/topdown.py'
]
from simdr_ext.datasets import codec_loader  # noqa: E402

# runtime: one batch holds the whole data set, so 1 epoch = 1 iteration
max_epochs = 300
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=max_epochs)
randomness = dict(seed=0)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=2e-3))
param_scheduler = [
    dict(type='LinearLR', begin=0, end=20, start_factor=0.1, by_epoch=False),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        milestones=[200, 260],
        gamma=0.1,
        by_epoch=True),
]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=25),
    checkpoint=dict(interval=max_epochs, save_best=None))

codec = dict(
    type='SimDRLabel', input_size=(96, 128), split_ratio=2.0,
    label_smoothing=0.1)

# ResNet-18 from scratch, two deconvolutions
model = dict(
    backbone=dict(type='ResNet', depth=18, init_cfg=None),
    head=dict(
        type='SimDRHead',
        in_channels=512,
        out_channels=17,
        in_featuremap_stride=32,
        deconv_out_channels=(128, 128),
        deconv_kernel_sizes=(4, 4),
        loss=dict(type='SoftLabelCELoss', use_target_weight=True),
        decoder=codec),
    test_cfg=dict(flip_test=False))

# no augmentation: the same crops are trained and tested
train_dataloader = dict(
    dataset=dict(
        codec=codec,
        pipeline=[
            dict(type='LoadImage'), dict(type='GetBBoxCenterScale'),
            dict(type='TopdownAffine'), dict(type='GenerateTarget'),
            dict(type='PackPoseInputs')
        ]))
val_dataloader = test_dataloader = codec_loader(codec, _base_.test_pipeline)
