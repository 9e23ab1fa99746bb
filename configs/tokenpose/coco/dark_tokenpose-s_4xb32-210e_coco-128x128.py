# TokenPose-S-v1 with DARK heatmaps, COCO 128x128: the heatmap row of SimDR
# Table 2 (65.4 AP with DARK post-processing, 5.2M #Params).

_base_ = ['./dark_tokenpose-s_4xb32-300e_coco-256x192.py']
from simdr_ext.datasets import codec_loader  # noqa: E402

# HRNet's schedule, as the SimDR paper trains TokenPose-S (docs/recipes.md,
# section 10; ../../_base_/schedules/adam_210e.py)
train_cfg = dict(max_epochs=210)
param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=210, milestones=[170, 200],
         gamma=0.1, by_epoch=True)
]

# codec: changes to the parent config's (sources: configs/recipes.yml)
codec = dict(
    input_size=(128, 128), heatmap_size=(32, 32), sigma=1, blur_kernel_size=3)
# 2x2 patches of the 32x32 map: 16x16 tokens, as at 256x192
model = dict(
    backbone=dict(input_size=codec['input_size'], patch_size=(2, 2)),
    head=dict(decoder=codec))
train_dataloader = dict(dataset=dict(codec=codec))
val_dataloader = test_dataloader = codec_loader(codec, _base_.test_pipeline)
