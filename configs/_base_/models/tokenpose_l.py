# TokenPose-L: HRNet-W48's first three stages (48-channel stride-4 branch)
# as the stem (leeyegy/TokenPose lib/models/pose_tokenpose_l.py), three
# transformer stacks run one after another whose keypoint tokens are
# concatenated (3 x 192 = 576). L/D24 (COCO): 3 x 8 layers, 12 heads;
# the model config sets depth and heads for L/D6 (MPII: 3 x 2, 8 heads).

_base_ = ['./tokenpose_s.py', './hrnet_widths.py']

model = dict(
    backbone=dict(
        stem='hrnet',
        hrnet=dict(
            extra=dict(
                stage1=_base_.hrnet_w48.extra.stage1,
                stage2=_base_.hrnet_w48.extra.stage2,
                stage3=_base_.hrnet_w48.extra.stage3),
            init_cfg=_base_.hrnet_w48.init_cfg),
        depth=8,
        num_heads=12,
        num_transformers=3,
        scale_with_head=True))
