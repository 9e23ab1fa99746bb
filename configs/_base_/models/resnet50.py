# ResNet-50 from torchvision's ImageNet weights (SimpleBaseline's
# MODEL.PRETRAINED resnet50-*.pth are torchvision's files).

_base_ = ['./topdown.py']

model = dict(
    backbone=dict(
        type='ResNet',
        depth=50,
        init_cfg=dict(
            type='Pretrained', checkpoint='torchvision://resnet50')))
