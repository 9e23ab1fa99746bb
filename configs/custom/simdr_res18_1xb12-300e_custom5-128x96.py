# A worked example of a data set of your own (docs/custom_dataset.md): five
# keypoints (nose, eyes, shoulders) of the 12 people bundled in
# tests/data/coco, in COCO format (tests/data/custom5/annotations.json),
# described by a metainfo file (_base_/datasets/custom5.py). Like the
# quickstart, an overfit check: it trains and tests on the same people.

_base_ = [
    '../_base_/default_runtime.py', '../_base_/data/coco_mini.py',
    '../_base_/models/topdown.py'
]
from simdr_ext.datasets import (bundled_data_root, codec_loader,  # noqa: E402
                                config_path)

# the keypoints, flip pairs, skeleton, loss weights and OKS sigmas
metainfo = dict(
    from_file=config_path('custom', '_base_', 'datasets', 'custom5.py'))
custom5 = dict(
    metainfo=metainfo,
    data_root=bundled_data_root('custom5', ''),
    ann_file='annotations.json',
    data_prefix=dict(img=bundled_data_root('coco', '')))

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

# ResNet-18 from scratch, two deconvolutions, one output per keypoint
model = dict(
    backbone=dict(type='ResNet', depth=18, init_cfg=None),
    head=dict(
        type='SimDRHead',
        in_channels=512,
        out_channels=5,
        in_featuremap_stride=32,
        deconv_out_channels=(128, 128),
        deconv_kernel_sizes=(4, 4),
        loss=dict(type='SoftLabelCELoss', use_target_weight=True),
        decoder=codec),
    test_cfg=dict(flip_test=False))

# no augmentation: the same crops are trained and tested
train_dataloader = dict(
    dataset=dict(
        custom5,
        codec=codec,
        pipeline=[
            dict(type='LoadImage'), dict(type='GetBBoxCenterScale'),
            dict(type='TopdownAffine'), dict(type='GenerateTarget'),
            dict(type='PackPoseInputs')
        ]))
val_dataloader = test_dataloader = codec_loader(
    codec, _base_.test_pipeline, **custom5, bbox_file=None)
val_evaluator = test_evaluator = dict(
    ann_file=bundled_data_root('custom5', 'annotations.json'))
