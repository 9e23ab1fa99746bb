# TokenPose-S-v1 with SimDR, COCO 128x128: the SimDR row of SimDR Table 2
# (70.4 AP, 5.1M #Params).

_base_ = ['./simdr_tokenpose-s_4xb32-210e_coco-256x192.py']
from simdr_ext.datasets import codec_loader  # noqa: E402

# codec: changes to the parent config's (sources: configs/recipes.yml)
codec = dict(input_size=(128, 128), split_ratio=3.0)
# 2x2 patches of the 32x32 map: 16x16 tokens, as at 256x192
model = dict(
    backbone=dict(input_size=codec['input_size'], patch_size=(2, 2)),
    head=dict(decoder=codec))
train_dataloader = dict(dataset=dict(codec=codec))
val_dataloader = test_dataloader = codec_loader(codec, _base_.test_pipeline)

# rescoring: mean of the keypoint scores above 0.02
val_evaluator = test_evaluator = dict(keypoint_score_thr=0.02)
