# The 4 COCO val2017 images with 12 annotated people bundled in
# tests/data/coco, for training and testing (ground-truth boxes); found
# relative to this file so that configs using it work from any directory
# (also through mim).

dataset_type = 'CheckedCocoDataset'
data_mode = 'topdown'
data_root = '{{fileDirname}}/../../../tests/data/coco/'

train_dataloader = dict(
    batch_size=12,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        ann_file='test_coco.json',
        data_prefix=dict(img='')))
val_dataloader = dict(
    batch_size=12,
    num_workers=1,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        ann_file='test_coco.json',
        data_prefix=dict(img=''),
        test_mode=True))
test_dataloader = val_dataloader

val_evaluator = dict(
    type='CheckedCocoMetric', ann_file=data_root + 'test_coco.json')
test_evaluator = val_evaluator
