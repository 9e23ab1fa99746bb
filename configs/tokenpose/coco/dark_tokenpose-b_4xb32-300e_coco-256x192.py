# TokenPose-B with DARK heatmaps, COCO 256x192 (TokenPose Table 1; 13.5M
# #Params, 74.7 AP as quoted by third-party tables).

_base_ = ['./dark_tokenpose-s_4xb32-300e_coco-256x192.py']

model = dict(backbone=_base_.tokenpose_b)
