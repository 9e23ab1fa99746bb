# MobileNetV2 without deconvolutions, SimDR head, COCO 256x192: the
# architecture and training of mmpose's released SimCC model
# (simcc_mobilenetv2_wo-deconv-8xb64-210e_coco-256x192), whose weights load
# unchanged: a 1x1 conv to K maps on the stride-32 map (t = 1).

_base_ = [
    '../../_base_/data/coco.py',
    '../../_base_/augmentation/mmpose.py',
    '../../_base_/schedules/simcc_210e.py',
    '../../_base_/models/mobilenetv2.py'
]

# weights released by mmpose for this architecture (converted:
# loaded as published, see model_zoo.md)
load_from = ('https://download.openmmlab.com/mmpose/v1/body_2d_keypoint/si'
             'mcc/coco/simcc_mobilenetv2_wo-deconv-8xb64-210e_coco-256x192'
             '-4b0703bb_20221010.pth')

# optimizer
optim_wrapper = dict(optimizer=dict(lr=0.0005))

# Gaussian labels (sigma 6 bins, centre rounded) with a KL loss, as
# mmpose's SimCCLabel/KLDiscretLoss, so that training with this config
# repeats the released model; the decoder takes the argmax, like mmpose's
codec = dict(
    type='SASimDRLabel',
    input_size=(192, 256),
    split_ratio=2.0,
    sigma=6.0,
    normalize=True,
    round_center=True)

model = dict(
    head=dict(
        type='SimDRHead',
        in_channels=1280,
        out_channels=17,
        input_size=codec['input_size'],
        split_ratio=codec['split_ratio'],
        in_featuremap_stride=32,
        deconv_out_channels=None,
        loss=dict(type='SimDRKLLoss', use_target_weight=True),
        decoder=codec),
    test_cfg=dict(flip_test=True))

# 8 GPUs x 64 images
auto_scale_lr = dict(base_batch_size=512)

train_dataloader = dict(
    batch_size=64,
    dataset=dict(pipeline=_base_.train_transforms + [
        dict(type='TopdownAffine', input_size=codec['input_size']),
        dict(type='GenerateTarget', encoder=codec),
        dict(type='PackPoseInputs')
    ]))
val_dataloader = dict(
    dataset=dict(pipeline=_base_.val_transforms + [
        dict(type='TopdownAffine', input_size=codec['input_size']),
        dict(type='PackPoseInputs')
    ]))
test_dataloader = val_dataloader
