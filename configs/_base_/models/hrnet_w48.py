# HRNet-W48, ImageNet-pretrained (widths in hrnet_widths.py).

_base_ = ['./topdown.py', './hrnet_widths.py']

model = dict(
    backbone=dict(
        type='HRNet',
        in_channels=3,
        extra=_base_.hrnet_w48.extra,
        init_cfg=_base_.hrnet_w48.init_cfg))
