# TokenPose-S-v1 with SimDR, COCO 256x192: the SimDR row of SimDR Table 2
# (73.6 AP, 5.5M #Params). The MLP heatmap head is replaced by SimDR's two
# linear layers on the keypoint tokens (SimDR Sec. 4.1.1). The other
# TokenPose SimDR configs are short deltas from this one.

_base_ = [
    '../../_base_/augmentation/hrnet.py',
    '../../_base_/schedules/adam_210e.py', '../../_base_/models/tokenpose_s.py'
]
from simdr_ext.datasets import codec_loader  # noqa: E402

# codec: the values and their sources are in configs/recipes.yml
codec = dict(
    type='SimDRLabel', input_size=(192, 256), split_ratio=2.0,
    label_smoothing=0.1, keypoint_score='max', score_scale='probability')

model = dict(
    backbone=dict(input_size=codec['input_size']),
    head=dict(_base_.simdr_head, out_channels=17, decoder=codec,
              loss=dict(type='NMTLoss', use_target_weight=True)),
    test_cfg=_base_.simdr_test_cfg)

# rescoring: mean of the keypoint scores above 0.01
val_evaluator = test_evaluator = dict(keypoint_score_thr=0.01)

# TokenPose's training boxes (configs/recipes.yml box_clipping)
train_dataloader = dict(
    dataset=dict(codec=codec, bbox_clip='authors_inclusive'))
val_dataloader = test_dataloader = codec_loader(codec, _base_.test_pipeline)
