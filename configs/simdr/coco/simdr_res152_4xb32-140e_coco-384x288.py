# SimBa-Res152, SimDR, COCO 384x288: SimDR paper Appendix A, Table 6.

_base_ = ['./simdr_res50_4xb32-140e_coco-384x288.py']

# loss: NMTNormLoss, the file's LOSS.TYPE NMTNORMCritierion
model = dict(
    backbone=_base_.resnet152,
    head=dict(loss=dict(type='NMTNormLoss', use_target_weight=True)))
