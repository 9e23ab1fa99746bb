# TokenPose-S-v1 with DARK heatmaps, COCO 256x192: TokenPose (arXiv
# 2104.03516) Table 7 "2D sine" row and the heatmap row of SimDR Table 2
# (72.5 AP with DARK post-processing). The other TokenPose DARK configs
# are short deltas from this one.

_base_ = [
    '../../_base_/augmentation/hrnet.py',
    '../../_base_/schedules/adam_300e.py', '../../_base_/models/tokenpose_s.py'
]
from simdr_ext.datasets import codec_loader  # noqa: E402

# codec: the values and their sources are in configs/recipes.yml
codec = dict(
    type='DarkHeatmap', input_size=(192, 256), heatmap_size=(48, 64), sigma=2,
    unbiased=True, decode_mode='dark', blur_kernel_size=11,
    off_crop='truncated')

model = dict(
    backbone=dict(input_size=codec['input_size']),
    head=dict(_base_.heatmap_head, out_channels=17, decoder=codec,
              loss=dict(type='KeypointMSELoss', use_target_weight=True)),
    test_cfg=dict(flip_test=True, flip_mode='heatmap', shift_heatmap=False))

# TokenPose's training boxes (configs/recipes.yml box_clipping)
train_dataloader = dict(
    dataset=dict(codec=codec, bbox_clip='authors_inclusive'))
val_dataloader = test_dataloader = codec_loader(codec, _base_.test_pipeline)
