# SimBa-Res50 with 3 deconvolutions, SimDR head, COCO 384x288: the
# architecture and training of mmpose's released SimCC model
# (simcc_res50_8xb32-140e_coco-384x288), whose weights load unchanged.

_base_ = [
    '../../_base_/data/coco.py',
    '../../_base_/augmentation/mmpose.py',
    '../../_base_/schedules/simcc_140e.py',
    '../../_base_/models/resnet50.py'
]

# weights released by mmpose for this architecture (converted:
# loaded as published, see model_zoo.md)
load_from = ('https://download.openmmlab.com/mmpose/v1/body_2d_keypoint/si'
             'mcc/coco/simcc_res50_8xb32-140e_coco-384x288-45c3ba34_202209'
             '13.pth')

# Gaussian labels (sigma 6 bins, centre rounded) with a KL loss, as
# mmpose's SimCCLabel/KLDiscretLoss, so that training with this config
# repeats the released model; the decoder takes the argmax, like mmpose's
codec = dict(
    type='SASimDRLabel',
    input_size=(288, 384),
    split_ratio=2.0,
    sigma=6.0,
    normalize=True,
    round_center=True)

model = dict(
    head=dict(
        type='SimDRHead',
        in_channels=2048,
        out_channels=17,
        input_size=codec['input_size'],
        split_ratio=codec['split_ratio'],
        in_featuremap_stride=32,
        deconv_out_channels=(256, 256, 256),
        deconv_kernel_sizes=(4, 4, 4),
        loss=dict(type='SimDRKLLoss', use_target_weight=True),
        decoder=codec),
    test_cfg=dict(flip_test=True))

# 8 GPUs x 32 images
auto_scale_lr = dict(base_batch_size=256)

train_dataloader = dict(
    batch_size=32,
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
