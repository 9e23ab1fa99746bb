# TokenPose-L/D24 with SimDR, COCO 256x192 (no paper row: the SimDR paper
# has TokenPose-S only).

_base_ = ['./simdr_tokenpose-b_4xb32-300e_coco-256x192.py']

model = dict(
    backbone=_base_.tokenpose_l,
    head=dict(in_channels=576, embedding_dim=576))
train_dataloader = dict(batch_size=16)

# 4 GPUs x 16 images
auto_scale_lr = dict(base_batch_size=64)
