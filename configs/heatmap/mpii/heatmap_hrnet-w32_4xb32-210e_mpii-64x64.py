# HRNet-W32, heatmap, MPII 64x64: SimDR paper Appendix C, Table 8
# (augmentation as on COCO, as the paper says).

_base_ = ['./heatmap_hrnet-w32_4xb32-210e_mpii-256x256.py']
from simdr_ext.datasets import bind_codec  # noqa: E402

# codec: changes to the parent config's (sources: configs/recipes.yml)
codec = dict(input_size=(64, 64), heatmap_size=(16, 16), sigma=1)
model = dict(head=dict(decoder=codec))
train_dataloader = dict(dataset=dict(codec=codec))
val_dataloader = test_dataloader = dict(dataset=dict(
    codec=codec, pipeline=bind_codec(_base_.test_pipeline, codec)))
