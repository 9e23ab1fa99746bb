# HRNet-W32, SimDR, MPII 64x64: SimDR paper Appendix C, Table 8
# (augmentation as on COCO, as the paper says).

_base_ = [
    '../coco/simdr_hrnet-w32_4xb32-210e_coco-64x64.py',
    '../../_base_/data/mpii.py'
]

# codec: changes to the parent config's (sources: configs/recipes.yml)
codec = dict(label_smoothing=0.2)
model = dict(head=dict(out_channels=16, decoder=codec))
train_dataloader = dict(dataset=dict(_base_.mpii_train, codec=codec))
dataset_type = _base_.mpii_train['type']
val_dataloader = test_dataloader = dict(
    dataset=dict(_base_.mpii_val, codec=codec))
val_evaluator = test_evaluator = _base_.mpii_metric
