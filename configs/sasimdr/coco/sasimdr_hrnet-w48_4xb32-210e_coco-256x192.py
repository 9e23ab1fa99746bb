# HRNet-W48, SimDR* (space-aware SimDR), COCO 256x192: SimDR paper Table 3.

_base_ = ['../../simdr/coco/simdr_hrnet-w48_4xb32-210e_coco-256x192.py']
from simdr_ext.datasets import bind_codec  # noqa: E402

# codec: the values and their sources are in configs/recipes.yml
codec = dict(
    _delete_=True,
    type='SASimDRLabel',
    input_size=(192, 256),
    split_ratio=2.0,
    sigma=4.0,
    normalize=True)
model = dict(
    head=dict(
        loss=dict(type='SimDRKLLoss', use_target_weight=True),
        decoder=codec))
train_dataloader = dict(dataset=dict(codec=codec))
val_dataloader = test_dataloader = dict(dataset=dict(
    codec=codec, pipeline=bind_codec(_base_.test_pipeline, codec)))

# rescoring: mean of the keypoint scores above 0.1
val_evaluator = test_evaluator = dict(keypoint_score_thr=0.1)
