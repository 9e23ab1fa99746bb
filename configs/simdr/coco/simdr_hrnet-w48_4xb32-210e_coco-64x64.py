# HRNet-W48, SimDR, COCO 64x64: SimDR paper Table 2.
# HRNet encoder: its 1x1 conv to K maps on the stride-4 branch, each
# flattened, then the two linear classifiers (Sec. 4.1.1).

_base_ = ['./simdr_hrnet-w32_4xb32-210e_coco-64x64.py']

model = dict(backbone=_base_.hrnet_w48, head=dict(in_channels=48))
