# TokenPose-S-v1 with SimDR, COCO 128x128: the SimDR row of SimDR Table 2
# (70.4 AP, 5.1M #Params).

_base_ = ['./simdr_tokenpose-s_8xb32-300e_coco-256x192.py']

# codec settings: k = 3 at 128x128 (the SimDR authors' ResNet setting at
# this size; the paper does not state TokenPose-S's k)
codec = dict(_base_.codec, input_size=(128, 128), split_ratio=3.0)

# model settings: 2x2 patches keep the 16x16 token grid of 256x192 (see
# dark_tokenpose-s_8xb32-300e_coco-128x128.py)
model = dict(
    backbone=dict(input_size=codec['input_size'], patch_size=(2, 2)),
    head=dict(
        input_size=codec['input_size'],
        split_ratio=codec['split_ratio'],
        decoder=codec))

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
