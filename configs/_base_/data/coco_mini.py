# The 4 COCO val2017 images with 12 annotated people bundled in
# tests/data/coco, for training and testing (ground-truth boxes); found by
# simdr_ext.datasets.bundled_data_root, so that configs using it work from
# any directory (also through mim).

_base_ = ['./coco.py']
from simdr_ext.datasets import bundled_data_root  # noqa: E402

mini = dict(
    data_root=bundled_data_root('coco', ''),
    ann_file='test_coco.json',
    data_prefix=dict(img=''))
train_dataloader = dict(batch_size=12, num_workers=1, dataset=mini)
val_dataloader = dict(
    batch_size=12, num_workers=1, dataset=dict(mini, bbox_file=None))
test_dataloader = val_dataloader

val_evaluator = dict(ann_file=bundled_data_root('coco', 'test_coco.json'))
test_evaluator = val_evaluator
