# TokenPose-B with SimDR, COCO 256x192 (no paper row: the SimDR paper has
# TokenPose-S only).

_base_ = ['./simdr_tokenpose-s_4xb32-210e_coco-256x192.py']

# TokenPose's schedule (../../_base_/schedules/adam_300e.py)
train_cfg = dict(max_epochs=300)
param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=300, milestones=[200, 260],
         gamma=0.1, by_epoch=True)
]

model = dict(backbone=_base_.tokenpose_b)
