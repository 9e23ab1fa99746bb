# TokenPose-L/D24 with DARK heatmaps, COCO 256x192 (TokenPose Table 1;
# 75.8 AP in the abstract).

_base_ = ['./dark_tokenpose-s_4xb32-300e_coco-256x192.py']

model = dict(backbone=_base_.tokenpose_l, head=dict(in_channels=576))
train_dataloader = dict(batch_size=16)

# 4 GPUs x 16 images
auto_scale_lr = dict(base_batch_size=64)
