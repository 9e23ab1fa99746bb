# HRNet-W48, DARK heatmap, COCO 384x288: the heatmap row of the SimDR paper
# with DARK's unbiased encoding and decoding (Zhang et al., CVPR 2020)
# in place of the +-1/4 px shift; same network as the heatmap config.

_base_ = ['./dark_hrnet-w32_4xb28-210e_coco-384x288.py']

model = dict(backbone=_base_.hrnet_w48, head=dict(in_channels=48))
train_dataloader = dict(batch_size=18)

# 4 GPUs x 18 images
auto_scale_lr = dict(base_batch_size=72)
