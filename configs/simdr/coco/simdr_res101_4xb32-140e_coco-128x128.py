# SimBa-Res101, SimDR, COCO 128x128: SimDR paper Table 2.
# SimpleBaseline encoder: 3 deconvolutions and a 1x1 conv to K maps,
# each flattened to one embedding, then the two linear classifiers.

_base_ = ['./simdr_res50_4xb32-140e_coco-128x128.py']

# codec: changes to the parent config's (sources: configs/recipes.yml)
codec = dict(split_ratio=2.0, label_smoothing=0.2)
model = dict(backbone=_base_.resnet101, head=dict(decoder=codec))
train_dataloader = val_dataloader = test_dataloader = dict(
    dataset=dict(codec=codec))
