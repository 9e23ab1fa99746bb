# SimBa-Res101, heatmap, COCO 384x288: SimDR paper Appendix A, Table 6.

_base_ = ['./heatmap_res50_4xb32-140e_coco-384x288.py']

model = dict(backbone=_base_.resnet101)
