# ResNet-101 from torchvision's ImageNet weights (SimpleBaseline's
# MODEL.PRETRAINED resnet101-*.pth are torchvision's files).

_base_ = ['./topdown.py']

model = dict(
    backbone=dict(
        type='ResNet',
        depth=101,
        init_cfg=dict(
            type='Pretrained', checkpoint='torchvision://resnet101')))
