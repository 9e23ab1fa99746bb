# HRNet-W32, heatmap, MPII 64x64: SimDR paper Appendix C, Table 8
# (augmentation as on COCO, as the paper says).

_base_ = [
    '../coco/heatmap_hrnet-w32_4xb32-210e_coco-64x64.py',
    '../../_base_/data/mpii.py'
]

model = dict(head=dict(out_channels=16))
train_dataloader = dict(dataset=_base_.mpii_train)
dataset_type = _base_.mpii_train['type']
val_dataloader = test_dataloader = dict(dataset=_base_.mpii_val)
val_evaluator = test_evaluator = _base_.mpii_metric
