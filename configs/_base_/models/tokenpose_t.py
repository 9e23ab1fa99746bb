# TokenPose-T: a pure transformer on 16x12 patches of the 256x192 RGB image
# (same 16x16 token grid as S), 16 heads with the per-head scale
# head_dim^-0.5 (leeyegy/TokenPose lib/models/tokenpose_base.py,
# TokenPose_TB_base); otherwise as TokenPose-S.

_base_ = ['./tokenpose_s.py']

model = dict(
    backbone=dict(
        stem='pure', patch_size=(16, 12), num_heads=16, scale_with_head=True))
