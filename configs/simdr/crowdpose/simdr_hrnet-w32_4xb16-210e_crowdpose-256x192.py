# HRNet-W32, SimDR, CrowdPose 256x192: SimDR paper Appendix B, Table 7
# (batch size 64 in all, as the paper).

_base_ = [
    '../../heatmap/crowdpose/heatmap_hrnet-w32_4xb16-210e_crowdpose-256x192.py'
]

# codec: the values and their sources are in configs/recipes.yml
codec = dict(
    _delete_=True, type='SimDRLabel', input_size=(192, 256), split_ratio=2.0,
    label_smoothing=0.1, keypoint_score='max', score_scale='probability')
model = dict(
    head=dict(
        _base_.simdr_head,
        loss=dict(type='NMTLoss', use_target_weight=True),
        decoder=codec),
    test_cfg=dict(_base_.simdr_test_cfg, _delete_=True))
# the same input size: the parent's test pipeline stays as it is
train_dataloader = val_dataloader = test_dataloader = dict(
    dataset=dict(codec=codec))

# rescoring: mean of the keypoint scores above 0.01
val_evaluator = test_evaluator = dict(keypoint_score_thr=0.01)
