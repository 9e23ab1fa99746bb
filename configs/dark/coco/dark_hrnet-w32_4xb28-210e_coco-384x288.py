# HRNet-W32, DARK heatmap, COCO 384x288: the heatmap row of the SimDR paper
# with DARK's unbiased encoding and decoding (Zhang et al., CVPR 2020)
# in place of the +-1/4 px shift; same network as the heatmap config.

_base_ = ['./dark_hrnet-w32_4xb32-210e_coco-256x192.py']
from simdr_ext.datasets import codec_loader  # noqa: E402

# codec: changes to the parent config's (sources: configs/recipes.yml)
codec = dict(input_size=(288, 384), heatmap_size=(72, 96), sigma=3)
model = dict(head=dict(decoder=codec))
train_dataloader = dict(batch_size=28, dataset=dict(codec=codec))
val_dataloader = test_dataloader = codec_loader(codec, _base_.test_pipeline)

# 4 GPUs x 28 images
auto_scale_lr = dict(base_batch_size=112)
