# TokenPose-L/D6 with SimDR, MPII 256x256 (no paper row).

_base_ = ['./dark_tokenpose-l-d6_4xb16-300e_mpii-256x256.py']

# codec: the values and their sources are in configs/recipes.yml
codec = dict(
    _delete_=True, type='SimDRLabel', input_size=(256, 256), split_ratio=2.0,
    label_smoothing=0.2, keypoint_score='max', score_scale='probability')
# SimDR's two linear layers on the 3 x 192 keypoint tokens
model = dict(
    head=dict(
        type='SimDRHead',
        in_channels=576,
        out_channels=16,
        embedding_dim=576,
        deconv_out_channels=None,
        init_cfg=_base_.trunc_normal_init,
        loss=dict(type='NMTNormLoss', use_target_weight=True),
        decoder=codec),
    test_cfg=dict(_base_.simdr_test_cfg, _delete_=True))
# the same input size: the parent's test pipeline stays as it is
train_dataloader = val_dataloader = test_dataloader = dict(
    dataset=dict(codec=codec))
