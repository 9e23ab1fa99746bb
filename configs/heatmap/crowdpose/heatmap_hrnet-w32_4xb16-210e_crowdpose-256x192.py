# HRNet-W32, heatmap, CrowdPose 256x192: SimDR paper Appendix B, Table 7
# (batch size 64 in all, as the paper).

_base_ = [
    '../coco/heatmap_hrnet-w32_4xb32-210e_coco-256x192.py',
    '../../_base_/data/crowdpose.py'
]

model = dict(head=dict(out_channels=14))
# the COCO parent's training data set replaced whole (its box cleaning is
# COCO's), keeping its codec and augmentation
train_dataloader = dict(
    batch_size=16,
    dataset=dict(
        _base_.crowdpose_train,
        _delete_=True,
        codec=_base_.codec,
        pipeline=_base_.train_pipeline))
dataset_type = _base_.crowdpose_train['type']
val_dataloader = test_dataloader = dict(dataset=_base_.crowdpose_val)
val_evaluator = test_evaluator = _base_.crowdpose_metric

# 4 GPUs x 16 images
auto_scale_lr = dict(base_batch_size=64)
