# TokenPose-B: HRNet-W32's first three stages (the 32-channel stride-4
# branch, ImageNet-pretrained) as the stem (leeyegy/TokenPose
# lib/models/pose_tokenpose_b.py), 4x3 patches, depth 12 and 8 heads as S,
# attention scale head_dim^-0.5 (TokenPose_TB_base).

_base_ = ['./tokenpose_s.py', './hrnet_widths.py']

model = dict(
    backbone=dict(
        stem='hrnet',
        hrnet=dict(
            extra=dict(
                stage1=_base_.hrnet_w32.extra.stage1,
                stage2=_base_.hrnet_w32.extra.stage2,
                stage3=_base_.hrnet_w32.extra.stage3),
            init_cfg=_base_.hrnet_w32.init_cfg),
        scale_with_head=True))
