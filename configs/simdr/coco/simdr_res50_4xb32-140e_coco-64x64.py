# SimBa-Res50, SimDR, COCO 64x64: SimDR paper Table 2.
# SimpleBaseline encoder: 3 deconvolutions and a 1x1 conv to K maps,
# each flattened to one embedding, then the two linear classifiers.

_base_ = ['./simdr_res50_4xb32-140e_coco-256x192.py']
from simdr_ext.datasets import codec_loader  # noqa: E402

# codec: changes to the parent config's (sources: configs/recipes.yml)
codec = dict(input_size=(64, 64), split_ratio=3.0)
model = dict(head=dict(decoder=codec))
train_dataloader = dict(dataset=dict(codec=codec))
val_dataloader = test_dataloader = codec_loader(codec, _base_.test_pipeline)

# rescoring: mean of the keypoint scores above 0.02
val_evaluator = test_evaluator = dict(keypoint_score_thr=0.02)
