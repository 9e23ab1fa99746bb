# HRNet-W32, heatmap, MPII 64x64: SimDR paper Appendix C, Table 8.
# The authors' MPII file's training: FLIP, SCALE_FACTOR 0.25, ROT_FACTOR 30,
# no half body (../../_base_/data/mpii.py), not the COCO augmentation the
# paper's Appendix C names.

_base_ = [
    '../coco/heatmap_hrnet-w32_4xb32-210e_coco-64x64.py',
    '../../_base_/data/mpii.py'
]

model = dict(head=dict(out_channels=16))
train_dataloader = dict(
    dataset=dict(_base_.mpii_train, codec=_base_.codec))
dataset_type = _base_.mpii_train['type']
val_dataloader = test_dataloader = dict(dataset=_base_.mpii_val)
val_evaluator = test_evaluator = _base_.mpii_metric
