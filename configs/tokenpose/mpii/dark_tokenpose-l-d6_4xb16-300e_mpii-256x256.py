# TokenPose-L/D6 with DARK heatmaps, MPII 256x256 (TokenPose Sec. 4.3).

_base_ = [
    '../coco/dark_tokenpose-l-d24_4xb16-300e_coco-256x192.py',
    '../../_base_/data/mpii.py'
]
from simdr_ext.datasets import codec_loader  # noqa: E402

# codec: changes to the parent config's (sources: configs/recipes.yml)
codec = dict(input_size=(256, 256), heatmap_size=(64, 64))
# 4x4 patches of the 64x64 map; L/D6: 3 x 2 layers, 8 heads
model = dict(
    backbone=dict(
        input_size=codec['input_size'],
        patch_size=(4, 4),
        depth=2,
        num_heads=8,
        num_keypoints=16),
    head=dict(out_channels=16, decoder=codec))
train_dataloader = dict(
    dataset=dict(_base_.mpii_train, codec=dict(_base_.codec, **codec)))
dataset_type = _base_.mpii_train['type']
val_dataloader = test_dataloader = codec_loader(
    codec, _base_.test_pipeline, **_base_.mpii_val)
val_evaluator = test_evaluator = _base_.mpii_metric
