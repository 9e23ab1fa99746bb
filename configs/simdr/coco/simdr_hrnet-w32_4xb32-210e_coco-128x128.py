# HRNet-W32, SimDR, COCO 128x128: SimDR paper Table 2.
# HRNet encoder: its 1x1 conv to K maps on the stride-4 branch, each
# flattened, then the two linear classifiers (Sec. 4.1.1).

_base_ = ['./simdr_hrnet-w32_4xb32-210e_coco-64x64.py']
from simdr_ext.datasets import codec_loader  # noqa: E402

# codec: changes to the parent config's (sources: configs/recipes.yml)
codec = dict(
    input_size=(128, 128), split_ratio=2.0, label_smoothing=0.2)
model = dict(head=dict(decoder=codec))
train_dataloader = dict(dataset=dict(codec=codec))
val_dataloader = test_dataloader = codec_loader(codec, _base_.test_pipeline)
