# TokenPose-S-v1 with SimDR, COCO 256x192: the SimDR row of SimDR Table 2
# (73.6 AP, 5.5M #Params). The MLP heatmap head is replaced by SimDR's two
# linear layers on the keypoint tokens (SimDR Sec. 4.1.1). The other
# TokenPose SimDR configs are short deltas from this one.

_base_ = ['../_base_/coco.py']

# codec settings: k = 2 at 256x192; label smoothing 0.1, the SimDR authors'
# default LOSS.LABEL_SMOOTHING
codec = dict(
    type='SimDRLabel',
    input_size=(192, 256),
    split_ratio=2.0,
    label_smoothing=0.1)

# model settings: TokenPose-S-v1 as in dark_tokenpose-s_..._coco-256x192.py;
# SimDRHead in token mode: Linear(192, 384) for x, Linear(192, 512) for y
model = dict(
    backbone=dict(
        type='TokenPose',
        input_size=codec['input_size'],
        stem='resnet',
        patch_size=(4, 3),
        embed_dims=192,
        depth=12,
        num_heads=8,
        mlp_ratio=3,
        num_transformers=1,
        scale_with_head=False,
        pos_embed='sine',
        num_keypoints=17),
    head=dict(
        type='SimDRHead',
        in_channels=192,
        out_channels=17,
        input_size=codec['input_size'],
        split_ratio=codec['split_ratio'],
        embedding_dim=192,
        deconv_out_channels=None,
        loss=dict(type='LabelSmoothCELoss', use_target_weight=True),
        decoder=codec),
    test_cfg=dict(flip_test=True))

# pipelines bound to the codec
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
