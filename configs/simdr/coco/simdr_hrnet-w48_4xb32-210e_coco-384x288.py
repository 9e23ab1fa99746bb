# HRNet-W48, SimDR, COCO 384x288: SimDR paper Table 3 (69.9 AP: the
# paper's example of naive SimDR overfitting at high resolution).

_base_ = ['./simdr_hrnet-w48_4xb32-210e_coco-256x192.py']
from simdr_ext.datasets import codec_loader  # noqa: E402

# codec: changes to the parent config's (sources: configs/recipes.yml)
codec = dict(input_size=(288, 384), split_ratio=1.5)
model = dict(head=dict(decoder=codec))
train_dataloader = dict(dataset=dict(codec=codec))
val_dataloader = test_dataloader = codec_loader(codec, _base_.test_pipeline)
