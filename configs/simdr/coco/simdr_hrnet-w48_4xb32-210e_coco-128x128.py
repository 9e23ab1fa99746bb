# HRNet-W48, SimDR, COCO 128x128: SimDR paper Table 2.
# HRNet encoder: its 1x1 conv to K maps on the stride-4 branch, each
# flattened, then the two linear classifiers (Sec. 4.1.1).

_base_ = ['./simdr_hrnet-w32_4xb32-210e_coco-128x128.py']

# codec: changes to the parent config's (sources: configs/recipes.yml)
codec = dict(label_smoothing=0.1)
model = dict(
    backbone=_base_.hrnet_w48, head=dict(in_channels=48, decoder=codec))
train_dataloader = val_dataloader = test_dataloader = dict(
    dataset=dict(codec=codec))
