# TokenPose-T with DARK heatmaps, COCO 256x192: a pure transformer on 16x12
# patches of the RGB image (TokenPose Sec. 4, Table 1).

_base_ = ['./dark_tokenpose-s_8xb32-300e_coco-256x192.py']

# model settings: no stem; 16x12 patches of the 256x192 image give the same
# 16x16 token grid as S; 16 heads with the per-head scale head_dim^-0.5
# (TokenPose_TB_base)
model = dict(
    backbone=dict(
        stem='pure', patch_size=(16, 12), num_heads=16, scale_with_head=True))
