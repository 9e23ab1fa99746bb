# TokenPose-B with SimDR, COCO 256x192 (no paper row: the SimDR paper has
# TokenPose-S only).

_base_ = [
    './simdr_tokenpose-s_8xb32-300e_coco-256x192.py',
    '../_base_/hrnet_stems.py'
]

# model settings: the TokenPose-B backbone of
# dark_tokenpose-b_8xb32-300e_coco-256x192.py
model = dict(
    backbone=dict(stem='hrnet', hrnet=_base_.hrnet_w32, scale_with_head=True))
