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
    normalize=True,
    keypoint_score='min',
    score_scale='probability',
    off_crop='truncated')
model = dict(
    head=dict(
        loss=dict(type='NMTNormLoss', use_target_weight=True),
        decoder=codec),
    test_cfg=dict(_base_.sasimdr_test_cfg, _delete_=True))
# the same input size: the parent's test pipeline stays as it is
train_dataloader = val_dataloader = test_dataloader = dict(
    dataset=dict(codec=codec))

# rescoring: mean of the keypoint probabilities above TEST.IN_VIS_THRE 0.005
val_evaluator = test_evaluator = dict(keypoint_score_thr=0.005)
