# Copyright (c) simdr_ext contributors. All rights reserved.
"""Models and detections shared by the runtime tests.

The SimDR* and DARK models are the quickstart SimDR model with the head's
codec swapped (the layouts of ``tests/test_deploy``); weights are seeded
random ones: what is compared is the arithmetic around the network.
"""
import json
import os.path as osp
from collections import defaultdict

import numpy as np
import pytest
import torch

COCO = osp.join(osp.dirname(osp.dirname(__file__)), 'data', 'coco')
DETECTIONS = osp.join(COCO, 'test_coco_det_AP_H_56.json')

SASIMDR = '''
_base_ = [{base!r}]
codec = dict(_delete_=True, type='SASimDRLabel', input_size=(96, 128),
             split_ratio=2.0, sigma=4.0, decode_refine=True)
model = dict(head=dict(decoder=codec,
                       loss=dict(type='SimDRKLLoss', use_target_weight=True)))
'''

DARK = '''
_base_ = [{base!r}]
codec = dict(type='DarkHeatmap', input_size=(96, 128), heatmap_size=(24, 32),
             sigma=2.0, decode_mode='dark', blur_kernel_size=11)
model = dict(head=dict(_delete_=True, type='HeatmapHead', in_channels=512,
                       out_channels=17, deconv_out_channels=(128, 128, 128),
                       deconv_kernel_sizes=(4, 4, 4),
                       loss=dict(type='KeypointMSELoss',
                                 use_target_weight=True),
                       decoder=codec))
'''


@pytest.fixture(scope='session')
def bundled_detections():
    """``{image path: (M, 4) float32 xyxy}`` of the bundled detections
    (118 boxes over the 4 bundled COCO images)."""
    with open(DETECTIONS) as f:
        dets = json.load(f)
    boxes = defaultdict(list)
    for det in dets:
        x, y, w, h = det['bbox']
        boxes[osp.join(COCO, f'{det["image_id"]:012d}.jpg')].append(
            [x, y, x + w, y + h])
    return {k: np.array(v, np.float32) for k, v in sorted(boxes.items())}


@pytest.fixture(scope='session')
def pose_model_factory(quickstart_config, tmp_path_factory):
    """``make(kind, checkpoint=None)`` → a CPU model of kind ``simdr``,
    ``sasimdr`` or ``dark`` (seed 0 weights without a checkpoint)."""
    folder = tmp_path_factory.mktemp('runtime_configs')

    def make(kind, checkpoint=None):
        from mmpose.apis import init_model
        config = quickstart_config
        if kind != 'simdr':
            config = str(folder / f'{kind}.py')
            with open(config, 'w') as f:
                f.write((SASIMDR if kind == 'sasimdr' else DARK).format(
                    base=quickstart_config))
        torch.manual_seed(0)
        return init_model(config, checkpoint, device='cpu')

    return make
