# ResNet-50 from torchvision's ImageNet weights (SimpleBaseline's
# MODEL.PRETRAINED resnet50-*.pth are torchvision's files); a ResNet-101 or
# -152 config is its ResNet-50 counterpart with ``backbone=_base_.resnet101``
# (``resnet152``).
# Input: BGR pixels, normalised with the ImageNet mean/std in RGB order, as
# the SimDR authors' ResNet files run: DATASET.COLOR_RGB false
# (leeyegy/SimCC experiments/coco/resnet/*/*.yaml l.14), so
# lib/dataset/JointsDataset.py l.139-141 keeps cv2's BGR, and tools/train.py
# l.139-141 normalises with mean (0.485, 0.456, 0.406), std (0.229, 0.224,
# 0.225). Configs of this package's own (RGB) set bgr_to_rgb=True.

_base_ = ['./topdown.py']

model = dict(
    data_preprocessor=dict(bgr_to_rgb=False),
    backbone=dict(
        type='ResNet',
        depth=50,
        init_cfg=dict(
            type='Pretrained', checkpoint='torchvision://resnet50')))
resnet101 = dict(
    depth=101, init_cfg=dict(checkpoint='torchvision://resnet101'))
resnet152 = dict(
    depth=152, init_cfg=dict(checkpoint='torchvision://resnet152'))
# SimpleBaseline's heads: three 4x4 deconvolutions (256 channels) on the
# stride-32 map (HeatmapHead's defaults)
heatmap_head = dict(type='HeatmapHead', in_channels=2048)
simdr_head = dict(
    type='SimDRHead',
    in_channels=2048,
    in_featuremap_stride=32,
    deconv_out_channels=(256, 256, 256),
    deconv_kernel_sizes=(4, 4, 4),
    init_cfg=_base_.torch_default_init)
