# SimBa-Res101, SimDR, COCO 64x64: SimDR paper Table 2.
# SimpleBaseline encoder: 3 deconvolutions and a 1x1 conv to K maps,
# each flattened to one embedding, then the two linear classifiers.

_base_ = ['./simdr_res50_4xb32-140e_coco-64x64.py']

model = dict(backbone=_base_.resnet101)
