# Copyright (c) simdr_ext contributors. All rights reserved.
"""The README's first command: train on the bundled images, then test."""
import os.path as osp
import time
from typing import Optional

from mmengine.config import Config

from .test import test
from .train import train

QUICKSTART_CONFIG = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs',
    'quickstart', 'simdr_res18_1xb12-300e_coco-mini-128x96.py')


def run_quickstart(config: str = QUICKSTART_CONFIG,
                   work_dir: str = 'work_dirs/quickstart',
                   cfg_options: Optional[dict] = None) -> dict:
    """Train ``config`` from scratch, then evaluate its last checkpoint.

    The test run loads the checkpoint through mmengine (``torch.load`` with
    ``weights_only=True`` and simdr_ext's allow-list), like ``tools/test.py``.

    Args:
        config (str): Config file. Defaults to the quickstart config.
        work_dir (str): Work directory. Defaults to ``work_dirs/quickstart``.
        cfg_options (dict, optional): Config overrides, e.g.
            ``{'train_cfg.max_epochs': 2}``. Defaults to ``None``.

    Returns:
        dict: ``metrics`` (COCO metrics of the test run), ``checkpoint``
        and ``train_seconds``.
    """
    cfg = Config.fromfile(config)
    cfg.work_dir = work_dir
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    start = time.time()
    runner = train(cfg.copy())
    train_seconds = time.time() - start
    checkpoint = osp.join(work_dir, f'epoch_{runner.epoch}.pth')
    test_cfg = cfg.copy()
    test_cfg.load_from = checkpoint
    metrics = test(test_cfg)
    return dict(
        metrics=metrics, checkpoint=checkpoint, train_seconds=train_seconds)
