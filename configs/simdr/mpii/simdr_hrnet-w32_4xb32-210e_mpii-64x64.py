# HRNet-W32, SimDR, MPII 64x64: SimDR paper Appendix C, Table 8.
# The authors' MPII file's training: FLIP, SCALE_FACTOR 0.25, ROT_FACTOR 30,
# no half body (../../_base_/data/mpii.py), not the COCO augmentation the
# paper's Appendix C names.

_base_ = [
    '../coco/simdr_hrnet-w32_4xb32-210e_coco-64x64.py',
    '../../_base_/data/mpii.py'
]

# codec: changes to the parent config's (sources: configs/recipes.yml)
codec = dict(label_smoothing=0.2)
# loss: NMTNormLoss, the file's LOSS.TYPE NMTNORMCritierion
model = dict(
    head=dict(
        out_channels=16,
        decoder=codec,
        loss=dict(type='NMTNormLoss', use_target_weight=True)))
train_dataloader = dict(
    dataset=dict(_base_.mpii_train, codec=dict(_base_.codec, **codec)))
dataset_type = _base_.mpii_train['type']
val_dataloader = test_dataloader = dict(
    dataset=dict(_base_.mpii_val, codec=codec))
val_evaluator = test_evaluator = _base_.mpii_metric
