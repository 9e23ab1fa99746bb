# SimBa-Res50, SimDR, COCO 384x288: SimDR paper Appendix A, Table 6.

_base_ = ['./simdr_res50_4xb32-140e_coco-256x192.py']
from simdr_ext.datasets import codec_loader  # noqa: E402

# codec: changes to the parent config's (sources: configs/recipes.yml)
codec = dict(input_size=(288, 384))
model = dict(head=dict(decoder=codec))
train_dataloader = dict(dataset=dict(codec=codec))
val_dataloader = test_dataloader = codec_loader(codec, _base_.test_pipeline)
