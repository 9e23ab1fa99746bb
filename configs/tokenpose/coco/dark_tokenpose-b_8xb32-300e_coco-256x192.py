# TokenPose-B with DARK heatmaps, COCO 256x192 (TokenPose Table 1; 13.5M
# #Params, 74.7 AP as quoted by third-party tables).

_base_ = [
    './dark_tokenpose-s_8xb32-300e_coco-256x192.py', '../_base_/hrnet_stems.py'
]

# model settings: the stem is HRNet-W32's first three stages (the 32-channel
# stride-4 branch, ImageNet-pretrained); 4x3 patches, depth 12 and 8 heads
# as S, attention scale head_dim^-0.5 (TokenPose_TB_base)
model = dict(
    backbone=dict(stem='hrnet', hrnet=_base_.hrnet_w32, scale_with_head=True))
