# HRNet-W48, heatmap, COCO 64x64: SimDR paper Table 2 (the row with
# extra post-processing, i.e. the +-1/4 px shift MSRAHeatmap decodes with).

_base_ = ['./heatmap_hrnet-w32_4xb32-210e_coco-64x64.py']

model = dict(backbone=_base_.hrnet_w48, head=dict(in_channels=48))
