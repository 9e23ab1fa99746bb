# TokenPose-S-v1 with DARK heatmaps, COCO 128x128: the heatmap row of SimDR
# Table 2 (65.4 AP with DARK post-processing, 5.2M #Params).

_base_ = ['./dark_tokenpose-s_8xb32-300e_coco-256x192.py']

# codec settings: 32x32 heatmaps (stride 4); sigma and blur as at 256x192
codec = dict(_base_.codec, input_size=(128, 128), heatmap_size=(32, 32))

# model settings: 2x2 patches of the 32x32 map keep the 16x16 token grid of
# 256x192; neither paper states the patch size, but this one gives Table
# 2's 5.2M #Params (5,216,704; 4x4 patches would give 5.8M). The head is
# LN(192) -> Linear(192, 32 * 32) by the authors' rule (1024 // 8 < 2 * 192)
model = dict(
    backbone=dict(input_size=codec['input_size'], patch_size=(2, 2)),
    head=dict(heatmap_size=codec['heatmap_size'], decoder=codec))

# re-bind the pipelines to this codec: mmengine merges what the base
# computed from its codec as data, it does not re-evaluate it
train_pipeline = _base_.train_transforms + [
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs')
]
val_pipeline = _base_.val_transforms + [
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='PackPoseInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
