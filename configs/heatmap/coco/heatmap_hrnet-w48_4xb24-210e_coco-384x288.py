# HRNet-W48, heatmap, COCO 384x288: SimDR paper Table 3.

_base_ = ['./heatmap_hrnet-w48_4xb32-210e_coco-256x192.py']
from simdr_ext.datasets import codec_loader  # noqa: E402

# codec: changes to the parent config's (sources: configs/recipes.yml)
codec = dict(input_size=(288, 384), heatmap_size=(72, 96), sigma=3)
model = dict(head=dict(decoder=codec))
train_dataloader = dict(batch_size=24, dataset=dict(codec=codec))
val_dataloader = test_dataloader = codec_loader(codec, _base_.test_pipeline)

# 4 GPUs x 24 images
auto_scale_lr = dict(base_batch_size=96)
