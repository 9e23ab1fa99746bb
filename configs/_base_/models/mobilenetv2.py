# MobileNetV2 (width 1.0, last stage only), ImageNet-pretrained as in
# mmpose's simcc_mobilenetv2_wo-deconv-8xb64-210e_coco-256x192.py.

_base_ = ['./topdown.py']

model = dict(
    backbone=dict(
        type='MobileNetV2',
        widen_factor=1.,
        out_indices=(7, ),
        init_cfg=dict(type='Pretrained', checkpoint='mmcls://mobilenet_v2')))
