# HRNet-W32, SimDR, MPII 256x256: SimDR paper Appendix C, Table 8
# (augmentation as on COCO, as the paper says).

_base_ = [
    '../../simdr/coco/simdr_hrnet-w32_4xb32-210e_coco-256x192.py',
    '../../_base_/data/mpii.py'
]

# codec: the values and their sources are in configs/recipes.yml
codec = dict(input_size=(256, 256), label_smoothing=0.2)
model = dict(head=dict(out_channels=16, decoder=codec))
train_dataloader = dict(dataset=dict(_base_.mpii_train, codec=codec))
val_dataloader = dict(dataset=dict(_base_.mpii_val, codec=codec))
test_dataloader = val_dataloader
val_evaluator = _base_.mpii_metric
test_evaluator = val_evaluator
