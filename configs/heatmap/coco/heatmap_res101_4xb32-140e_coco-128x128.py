# SimBa-Res101, heatmap, COCO 128x128: SimDR paper Table 2 (the row with
# extra post-processing, i.e. the +-1/4 px shift MSRAHeatmap decodes with).

_base_ = ['./heatmap_res50_4xb32-140e_coco-128x128.py']

model = dict(backbone=_base_.resnet101)
