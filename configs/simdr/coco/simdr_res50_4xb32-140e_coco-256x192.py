# SimBa-Res50, SimDR, COCO 256x192: SimDR paper Table 2.
# SimpleBaseline encoder: 3 deconvolutions and a 1x1 conv to K maps,
# each flattened to one embedding, then the two linear classifiers.

_base_ = [
    '../../_base_/augmentation/simplebaseline.py',
    '../../_base_/schedules/adam_140e.py', '../../_base_/models/resnet50.py'
]
from simdr_ext.datasets import codec_loader  # noqa: E402

# codec: the values and their sources are in configs/recipes.yml
codec = dict(
    type='SimDRLabel', input_size=(192, 256), split_ratio=2.0,
    label_smoothing=0.1, keypoint_score='max', score_scale='probability')

model = dict(
    head=dict(_base_.simdr_head, out_channels=17, decoder=codec,
              loss=dict(type='NMTLoss', use_target_weight=True)),
    test_cfg=_base_.simdr_test_cfg)

# rescoring: mean of the keypoint scores above 0.01
val_evaluator = test_evaluator = dict(keypoint_score_thr=0.01)

train_dataloader = dict(dataset=dict(codec=codec))
val_dataloader = test_dataloader = codec_loader(codec, _base_.test_pipeline)
