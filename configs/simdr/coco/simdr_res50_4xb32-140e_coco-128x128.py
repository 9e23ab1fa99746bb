# SimBa-Res50, SimDR, COCO 128x128: SimDR paper Table 2.
# SimpleBaseline encoder: 3 deconvolutions and a 1x1 conv to K maps,
# each flattened to one embedding, then the two linear classifiers.

_base_ = ['./simdr_res50_4xb32-140e_coco-64x64.py']
from simdr_ext.datasets import codec_loader  # noqa: E402

# codec: changes to the parent config's (sources: configs/recipes.yml)
codec = dict(input_size=(128, 128))
model = dict(head=dict(decoder=codec))
train_dataloader = dict(dataset=dict(codec=codec))
val_dataloader = test_dataloader = codec_loader(codec, _base_.test_pipeline)
