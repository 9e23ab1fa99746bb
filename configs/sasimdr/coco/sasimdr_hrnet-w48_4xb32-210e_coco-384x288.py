# HRNet-W48, SimDR* (space-aware SimDR), COCO 384x288: SimDR paper Table 3.

_base_ = ['./sasimdr_hrnet-w48_4xb32-210e_coco-256x192.py']
from simdr_ext.datasets import codec_loader  # noqa: E402

# codec: changes to the parent config's (sources: configs/recipes.yml)
codec = dict(input_size=(288, 384), split_ratio=1.5)
model = dict(head=dict(decoder=codec))
train_dataloader = dict(dataset=dict(codec=codec))
val_dataloader = test_dataloader = codec_loader(codec, _base_.test_pipeline)

# rescoring: mean of the keypoint probabilities above TEST.IN_VIS_THRE 0.005
val_evaluator = test_evaluator = dict(keypoint_score_thr=0.005)
