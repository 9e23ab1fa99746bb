# HRNet (Sun et al.) as the SimDR and TokenPose files' MODEL.EXTRA build it:
# the stem and stage 1 (4 bottlenecks) have 64 channels at every width; stage
# i = 2, 3, 4 has i branches of (W, 2W, 4W, 8W)[:i] channels, 4 BASIC
# blocks per branch, in 1, 4 and 3 modules. ImageNet weights as mmpose's
# HRNet configs load them. TokenPose-B/L use the first three stages as stem.


def hrnet_stages(width: int, num_stages: int) -> dict:
    """HRNet's ``extra`` for branch width ``width``: stage1 .. stageN."""
    extra = dict(stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK',
                             num_blocks=(4, ), num_channels=(64, )))
    for i, modules in zip(range(2, num_stages + 1), (1, 4, 3)):
        extra[f'stage{i}'] = dict(
            num_modules=modules, num_branches=i, block='BASIC',
            num_blocks=(4, ) * i,
            num_channels=tuple(width * 2**b for b in range(i)))
    return extra


def imagenet(name: str) -> dict:
    return dict(
        type='Pretrained',
        checkpoint=f'https://download.openmmlab.com/mmpose/pretrain_models/'
        f'{name}.pth')


hrnet_w32 = dict(
    extra=hrnet_stages(32, 4), init_cfg=imagenet('hrnet_w32-36af842e'))
hrnet_w48 = dict(
    extra=hrnet_stages(48, 4), init_cfg=imagenet('hrnet_w48-8ef0771d'))
hrnet_w32_stem = dict(
    extra=hrnet_stages(32, 3), init_cfg=hrnet_w32['init_cfg'])
hrnet_w48_stem = dict(
    extra=hrnet_stages(48, 3), init_cfg=hrnet_w48['init_cfg'])
