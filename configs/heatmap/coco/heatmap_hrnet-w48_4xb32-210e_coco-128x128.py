# HRNet-W48, heatmap, COCO 128x128: SimDR paper Table 2 (the row with
# extra post-processing, i.e. the +-1/4 px shift MSRAHeatmap decodes with).

_base_ = ['./heatmap_hrnet-w32_4xb32-210e_coco-128x128.py']

model = dict(backbone=_base_.hrnet_w48, head=dict(in_channels=48))
