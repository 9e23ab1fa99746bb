# TokenPose-L/D24 with SimDR, COCO 256x192 (no paper row: the SimDR paper
# has TokenPose-S only).

_base_ = [
    './simdr_tokenpose-s_8xb32-300e_coco-256x192.py',
    '../_base_/hrnet_stems.py'
]

# model settings: the TokenPose-L/D24 backbone of
# dark_tokenpose-l-d24_8xb16-300e_coco-256x192.py; SimDR's linear layers
# read the 576-long fused keypoint tokens
model = dict(
    backbone=dict(
        stem='hrnet',
        hrnet=_base_.hrnet_w48,
        depth=8,
        num_heads=12,
        num_transformers=3,
        scale_with_head=True),
    head=dict(in_channels=576, embedding_dim=576))

# 8 GPUs x 16 images, the authors' batch for L/D24
train_dataloader = dict(batch_size=16)
auto_scale_lr = dict(base_batch_size=128)
