# TokenPose-S-v1 with SimDR, COCO 64x64: the SimDR row of SimDR Table 2
# (62.8 AP, 4.9M #Params).

_base_ = ['./simdr_tokenpose-s_4xb32-210e_coco-128x128.py']
from simdr_ext.datasets import codec_loader  # noqa: E402

# codec: changes to the parent config's (sources: configs/recipes.yml)
codec = dict(input_size=(64, 64))
# 1x1 patches of the 16x16 map
model = dict(
    backbone=dict(input_size=codec['input_size'], patch_size=(1, 1)),
    head=dict(decoder=codec))
train_dataloader = dict(dataset=dict(codec=codec))
val_dataloader = test_dataloader = codec_loader(codec, _base_.test_pipeline)
