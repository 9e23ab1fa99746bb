# HRNet-W32, heatmap, COCO 256x192: SimDR paper Table 2 (the row with
# extra post-processing, i.e. the +-1/4 px shift MSRAHeatmap decodes with).

_base_ = [
    '../../_base_/augmentation/hrnet.py',
    '../../_base_/schedules/adam_210e.py', '../../_base_/models/hrnet_w32.py'
]
from simdr_ext.datasets import codec_loader  # noqa: E402

# codec: the values and their sources are in configs/recipes.yml
codec = dict(
    type='MSRAHeatmap', input_size=(192, 256), heatmap_size=(48, 64), sigma=2)

model = dict(
    head=dict(_base_.heatmap_head, out_channels=17, decoder=codec,
              loss=dict(type='KeypointMSELoss', use_target_weight=True)),
    test_cfg=dict(flip_test=True, flip_mode='heatmap', shift_heatmap=True))

train_dataloader = dict(dataset=dict(codec=codec))
val_dataloader = test_dataloader = codec_loader(codec, _base_.test_pipeline)
