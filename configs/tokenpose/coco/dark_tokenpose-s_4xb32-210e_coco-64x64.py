# TokenPose-S-v1 with DARK heatmaps, COCO 64x64: the heatmap row of SimDR
# Table 2 (57.1 AP with DARK post-processing, 4.9M #Params).

_base_ = ['./dark_tokenpose-s_4xb32-210e_coco-128x128.py']
from simdr_ext.datasets import codec_loader  # noqa: E402

# codec: changes to the parent config's (sources: configs/recipes.yml)
codec = dict(input_size=(64, 64), heatmap_size=(16, 16))
# 1x1 patches of the 16x16 map
model = dict(
    backbone=dict(input_size=codec['input_size'], patch_size=(1, 1)),
    head=dict(decoder=codec))
train_dataloader = dict(dataset=dict(codec=codec))
val_dataloader = test_dataloader = codec_loader(codec, _base_.test_pipeline)
