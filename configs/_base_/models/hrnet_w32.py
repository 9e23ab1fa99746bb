# HRNet-W32, ImageNet-pretrained (hrnet_widths.py); a W48 config is its W32
# counterpart with ``model = dict(backbone=_base_.hrnet_w48, ...)``.

_base_ = ['./topdown.py', './hrnet_widths.py']

model = dict(backbone=dict(type='HRNet', in_channels=3, **_base_.hrnet_w32))
# the heads read the 32-channel stride-4 branch, without deconvolutions
heatmap_head = dict(
    type='HeatmapHead', in_channels=32, deconv_out_channels=None)
simdr_head = dict(
    type='SimDRHead',
    in_channels=32,
    in_featuremap_stride=4,
    deconv_out_channels=None,
    init_cfg=_base_.torch_default_init)
