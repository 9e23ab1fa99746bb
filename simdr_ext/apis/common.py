# Copyright (c) simdr_ext contributors. All rights reserved.
"""Pieces shared by the train and test entry points."""
import argparse
import os
import os.path as osp
from typing import Optional

from mmengine.config import Config, DictAction


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Arguments that ``tools/train.py`` and ``tools/test.py`` share."""
    parser.add_argument('--work-dir', help='where logs and checkpoints go')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries, key=value (e.g. '
        'train_cfg.max_epochs=10 or model.test_cfg.flip_test=False)')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torch.distributed launchers pass --local-rank (torch >= 2) or
    # --local_rank (older); both are accepted.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def load_config(path: str, args: argparse.Namespace) -> Config:
    """Read a config and apply the shared CLI arguments.

    The work directory is, in this order: ``--work-dir``, ``work_dir`` in the
    config, ``./work_dirs/<config name>``.

    Args:
        path (str): Config file.
        args (argparse.Namespace): Parsed arguments of
            :func:`add_common_args`.

    Returns:
        Config: The config.
    """
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    cfg = Config.fromfile(path)
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(path))[0])
    return cfg


def apply_cfg_options(cfg: Config, options: Optional[dict]) -> Config:
    """Merge ``--cfg-options`` last, so they win over every other flag."""
    if options:
        cfg.merge_from_dict(options)
    return cfg


def enable_visualization(cfg: Config, show_dir: Optional[str],
                         interval: int = 1) -> None:
    """Turn on mmpose's ``PoseVisualizationHook`` writing to ``show_dir``."""
    if show_dir is None:
        return
    hooks = cfg.default_hooks
    if 'visualization' not in hooks:
        raise ValueError('--show-dir needs visualization=dict(type='
                         '"PoseVisualizationHook") in default_hooks')
    hooks.visualization.update(
        enable=True, out_dir=show_dir, interval=interval)
