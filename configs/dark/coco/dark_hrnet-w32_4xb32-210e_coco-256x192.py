# HRNet-W32, DARK heatmap, COCO 256x192: the heatmap row of the SimDR paper
# with DARK's unbiased encoding and decoding (Zhang et al., CVPR 2020)
# in place of the +-1/4 px shift; same network as the heatmap config.

_base_ = ['../../heatmap/coco/heatmap_hrnet-w32_4xb32-210e_coco-256x192.py']

# codec: changes to the parent config's (sources: configs/recipes.yml).
# DARK: unbiased encoding, Taylor decoding; the heatmap config's sigma 2 and
# blur kernel 11 as the DarkPose configs (ilovepose/DarkPose; 11 also at
# sigma 3, which "does not make much difference in AP", open-mmlab/mmpose#664)
codec = dict(
    type='DarkHeatmap', unbiased=True, decode_mode='dark',
    blur_kernel_size=11, off_crop='truncated')
# no flip shift: the flipped-back map is averaged as it is
model = dict(head=dict(decoder=codec), test_cfg=dict(shift_heatmap=False))
# the same input size: the parent's test pipeline stays as it is
val_dataloader = test_dataloader = dict(dataset=dict(codec=codec))
# DarkPose's training boxes (configs/recipes.yml box_clipping)
train_dataloader = dict(
    dataset=dict(codec=codec, bbox_clip='authors_inclusive'))
