# SimBa-Res50 without deconvolutions, SimDR, COCO 256x192: SimDR paper
# Table 4. A 1x1 conv maps the stride-32 map to K * 28 channels and each
# keypoint's 28 maps are flattened together (leeyegy/SimCC
# lib/models/pose_resnet_upfree.py, CHANNEL_PER_JOINT 28 in
# experiments/coco/resnet/simdr/upsample_free/*_256x192_*cpj28.yaml).

_base_ = ['./simdr_res50_4xb32-140e_coco-256x192.py']

# no deconvolutions: a 1x1 conv to K x 28 channels on the stride-32 map
model = dict(
    head=dict(
        _delete_=True, type='SimDRHead', in_channels=2048, out_channels=17,
        in_featuremap_stride=32, deconv_out_channels=None,
        channels_per_joint=28,
        init_cfg=_base_.torch_default_init,
        loss=dict(type='NMTLoss', use_target_weight=True),
        decoder=_base_.codec))
