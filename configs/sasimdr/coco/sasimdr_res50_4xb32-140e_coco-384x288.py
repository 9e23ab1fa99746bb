# SimBa-Res50, SimDR* (space-aware SimDR), COCO 384x288: the authors'
# README (73.4 AP, beside SimDR's 73.0 of Appendix A, Table 6).

_base_ = ['../../simdr/coco/simdr_res50_4xb32-140e_coco-384x288.py']

# codec: the values and their sources are in configs/recipes.yml
codec = dict(
    _delete_=True,
    type='SASimDRLabel',
    input_size=(288, 384),
    split_ratio=2.0,
    sigma=6.0,
    normalize=True)
model = dict(
    head=dict(
        loss=dict(type='SimDRKLLoss', use_target_weight=True),
        decoder=codec))
# the same input size: the parent's test pipeline stays as it is
train_dataloader = val_dataloader = test_dataloader = dict(
    dataset=dict(codec=codec))

# rescoring: mean of the keypoint scores above 0.075
val_evaluator = test_evaluator = dict(keypoint_score_thr=0.075)
