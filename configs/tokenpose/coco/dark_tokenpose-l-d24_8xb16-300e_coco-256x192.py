# TokenPose-L/D24 with DARK heatmaps, COCO 256x192 (TokenPose Table 1;
# 75.8 AP in the abstract).

_base_ = [
    './dark_tokenpose-s_8xb32-300e_coco-256x192.py', '../_base_/hrnet_stems.py'
]

# model settings: HRNet-W48's first three stages (48-channel stride-4
# branch), three stacks of 8 layers with 12 heads run one after another,
# the three stacks' keypoint tokens concatenated (token fusion, 3 x 192 =
# 576); the head is LN(576) -> Linear(576, 64 * 48) by the authors' rule
model = dict(
    backbone=dict(
        stem='hrnet',
        hrnet=_base_.hrnet_w48,
        depth=8,
        num_heads=12,
        num_transformers=3,
        scale_with_head=True),
    head=dict(in_channels=576))

# 8 GPUs x 16 images, the authors' batch for L/D24
train_dataloader = dict(batch_size=16)
auto_scale_lr = dict(base_batch_size=128)
