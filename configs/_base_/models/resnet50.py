# ResNet-50 from torchvision's ImageNet weights (SimpleBaseline's
# MODEL.PRETRAINED resnet50-*.pth are torchvision's files); a ResNet-101 or
# -152 config is its ResNet-50 counterpart with ``backbone=_base_.resnet101``
# (``resnet152``).

_base_ = ['./topdown.py']

model = dict(
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
    deconv_kernel_sizes=(4, 4, 4))
