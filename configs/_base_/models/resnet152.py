# ResNet-152 from torchvision's ImageNet weights (SimpleBaseline's
# MODEL.PRETRAINED resnet152-*.pth are torchvision's files).

_base_ = ['./topdown.py']

model = dict(
    backbone=dict(
        type='ResNet',
        depth=152,
        init_cfg=dict(
            type='Pretrained', checkpoint='torchvision://resnet152')))
