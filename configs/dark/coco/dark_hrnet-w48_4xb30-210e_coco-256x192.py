# HRNet-W48, DARK heatmap, COCO 256x192: the heatmap row of the SimDR paper
# with DARK's unbiased encoding and decoding (Zhang et al., CVPR 2020)
# in place of the +-1/4 px shift; same network as the heatmap config.

_base_ = [
    '../../_base_/data/coco.py',
    '../../_base_/augmentation/hrnet.py',
    '../../_base_/schedules/adam_210e.py',
    '../../_base_/models/hrnet_w48.py'
]

# DARK: unbiased encoding, Taylor decoding; sigma 2 and blur kernel 11 as
# the DarkPose configs (ilovepose/DarkPose; 11 also at sigma 3, which
# "does not make much difference in AP", open-mmlab/mmpose#664)
codec = dict(
    type='DarkHeatmap',
    input_size=(192, 256),
    heatmap_size=(48, 64),
    sigma=2,
    unbiased=True,
    decode_mode='dark',
    blur_kernel_size=11)

model = dict(
    head=dict(
        type='HeatmapHead',
        in_channels=48,
        out_channels=17,
        deconv_out_channels=None,
        loss=dict(type='KeypointMSELoss', use_target_weight=True),
        decoder=codec),
    test_cfg=dict(
        flip_test=True,
        flip_mode='heatmap',
        shift_heatmap=False,
    ))

# 4 GPUs x 30 images
auto_scale_lr = dict(base_batch_size=120)

train_dataloader = dict(
    batch_size=30,
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
