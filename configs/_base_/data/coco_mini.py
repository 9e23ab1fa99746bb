# The 4 COCO val2017 images with 12 annotated people bundled in
# tests/data/coco, for training and testing (ground-truth boxes); found
# relative to this file so that configs using it work from any directory
# (also through mim).

_base_ = ['./coco.py']

mini = dict(
    data_root='{{fileDirname}}/../../../tests/data/coco/',
    ann_file='test_coco.json',
    data_prefix=dict(img=''))
train_dataloader = dict(batch_size=12, num_workers=1, dataset=mini)
val_dataloader = dict(
    batch_size=12, num_workers=1, dataset=dict(mini, bbox_file=None))
test_dataloader = val_dataloader

val_evaluator = dict(ann_file=mini['data_root'] + 'test_coco.json')
test_evaluator = val_evaluator
