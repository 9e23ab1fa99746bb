# HRNet-W48, SimDR* (space-aware SimDR), COCO 256x192: SimDR paper Table 3.

_base_ = ['../../simdr/coco/simdr_hrnet-w48_4xb32-210e_coco-256x192.py']

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
# the same input size: the parent's test pipeline stays as it is
train_dataloader = val_dataloader = test_dataloader = dict(
    dataset=dict(codec=codec))

# rescoring: mean of the keypoint scores above 0.1
val_evaluator = test_evaluator = dict(keypoint_score_thr=0.1)
