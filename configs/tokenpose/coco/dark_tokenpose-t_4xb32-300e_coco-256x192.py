# TokenPose-T with DARK heatmaps, COCO 256x192: a pure transformer on 16x12
# patches of the RGB image (TokenPose Sec. 4, Table 1).

_base_ = ['./dark_tokenpose-s_4xb32-300e_coco-256x192.py']

model = dict(backbone=_base_.tokenpose_t)
