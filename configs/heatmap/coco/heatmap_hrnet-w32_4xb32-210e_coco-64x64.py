# HRNet-W32, heatmap, COCO 64x64: SimDR paper Table 2 (the row with
# extra post-processing, i.e. the +-1/4 px shift MSRAHeatmap decodes with).

_base_ = ['./heatmap_hrnet-w32_4xb32-210e_coco-256x192.py']
from simdr_ext.datasets import codec_loader  # noqa: E402

# codec: changes to the parent config's (sources: configs/recipes.yml)
codec = dict(input_size=(64, 64), heatmap_size=(16, 16), sigma=1)
model = dict(head=dict(decoder=codec))
train_dataloader = dict(dataset=dict(codec=codec))
val_dataloader = test_dataloader = codec_loader(codec, _base_.test_pipeline)
