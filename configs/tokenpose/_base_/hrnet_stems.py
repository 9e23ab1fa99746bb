# HRNet stems of TokenPose-B (W32) and TokenPose-L (W48): HRNet's stem and
# first three stages, the stride-4 branch read out (TokenPose's
# ``pose_tokenpose_b.py`` / ``_l.py``), ImageNet-pretrained as in mmpose's
# HRNet configs. Use as ``backbone=dict(stem='hrnet', hrnet=_base_.hrnet_w32)``
# next to a config that has a ``model``: this file defines only these two
# variables, so it can be a second ``_base_``.

hrnet_w32 = dict(
    extra=dict(
        stage1=dict(
            num_modules=1,
            num_branches=1,
            block='BOTTLENECK',
            num_blocks=(4, ),
            num_channels=(64, )),
        stage2=dict(
            num_modules=1,
            num_branches=2,
            block='BASIC',
            num_blocks=(4, 4),
            num_channels=(32, 64)),
        stage3=dict(
            num_modules=4,
            num_branches=3,
            block='BASIC',
            num_blocks=(4, 4, 4),
            num_channels=(32, 64, 128))),
    init_cfg=dict(
        type='Pretrained',
        checkpoint='https://download.openmmlab.com/mmpose/'
        'pretrain_models/hrnet_w32-36af842e.pth'))

hrnet_w48 = dict(
    extra=dict(
        stage1=dict(
            num_modules=1,
            num_branches=1,
            block='BOTTLENECK',
            num_blocks=(4, ),
            num_channels=(64, )),
        stage2=dict(
            num_modules=1,
            num_branches=2,
            block='BASIC',
            num_blocks=(4, 4),
            num_channels=(48, 96)),
        stage3=dict(
            num_modules=4,
            num_branches=3,
            block='BASIC',
            num_blocks=(4, 4, 4),
            num_channels=(48, 96, 192))),
    init_cfg=dict(
        type='Pretrained',
        checkpoint='https://download.openmmlab.com/mmpose/'
        'pretrain_models/hrnet_w48-8ef0771d.pth'))
