# HRNet-W32, SimDR* (space-aware SimDR), MPII 256x256: SimDR paper
# Appendix C, Table 8.
# The authors' MPII file's training: FLIP, SCALE_FACTOR 0.25, ROT_FACTOR 30,
# no half body (../../_base_/data/mpii.py), not the COCO augmentation the
# paper's Appendix C names.

_base_ = [
    '../coco/sasimdr_hrnet-w48_4xb32-210e_coco-256x192.py',
    '../../_base_/data/mpii.py'
]
from simdr_ext.datasets import codec_loader  # noqa: E402

# codec: changes to the parent config's (sources: configs/recipes.yml)
codec = dict(input_size=(256, 256), sigma=6.0)
model = dict(
    backbone=_base_.hrnet_w32,
    head=dict(in_channels=32, out_channels=16, decoder=codec))
train_dataloader = dict(
    dataset=dict(_base_.mpii_train, codec=dict(_base_.codec, **codec)))
dataset_type = _base_.mpii_train['type']
val_dataloader = test_dataloader = codec_loader(
    codec, _base_.test_pipeline, **_base_.mpii_val)
val_evaluator = test_evaluator = _base_.mpii_metric
