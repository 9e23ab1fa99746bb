# MobileNetV2 without deconvolutions, SimDR head, COCO 256x192: the
# architecture and training of mmpose's released SimCC model
# (simcc_mobilenetv2_wo-deconv-8xb64-210e_coco-256x192), whose weights load
# unchanged: a 1x1 conv to K maps on the stride-32 map (t = 1).

_base_ = ['./sasimdr_res50_8xb64-210e_coco-256x192.py']

# weights released by mmpose for this architecture (converted:
# loaded as published, see model_zoo.md)
load_from = ('https://download.openmmlab.com/mmpose/v1/body_2d_keypoint/si'
             'mcc/coco/simcc_mobilenetv2_wo-deconv-8xb64-210e_coco-256x192'
             '-4b0703bb_20221010.pth')

optim_wrapper = dict(optimizer=dict(lr=0.0005))

# MobileNetV2 (width 1.0, last stage only), ImageNet-pretrained as in
# mmpose's config; the head reads its stride-32 map without deconvolutions
model = dict(
    backbone=dict(
        _delete_=True,
        type='MobileNetV2',
        widen_factor=1.,
        out_indices=(7, ),
        init_cfg=dict(type='Pretrained', checkpoint='mmcls://mobilenet_v2')),
    head=dict(
        _delete_=True, type='SimDRHead', in_channels=1280, out_channels=17,
        in_featuremap_stride=32, deconv_out_channels=None,
        loss=dict(type='SimDRKLLoss', use_target_weight=True),
        init_cfg=_base_.simcc_head_init, decoder=_base_.codec))
