# Copyright (c) simdr_ext contributors. All rights reserved.
"""Training entry point behind ``tools/train.py`` and ``mim train``."""
import argparse
import os
from typing import List, Optional

from mmengine.config import Config

from ..engine import SimDRRunner, WorkDirLock, setup_cpu_distributed
from .common import (add_common_args, apply_cfg_options,
                     check_codec_consistency, enable_visualization,
                     load_config)


def train_parser() -> argparse.ArgumentParser:
    """The ``tools/train.py`` command line (mmpose's flags)."""
    parser = argparse.ArgumentParser(description='Train a simdr_ext model')
    parser.add_argument('config', help='config file')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from this checkpoint, or without a path from the '
        'latest checkpoint in the work directory')
    parser.add_argument(
        '--amp', action='store_true', help='automatic mixed precision')
    parser.add_argument(
        '--no-validate', action='store_true', help='skip validation')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate by batch size / base_batch_size')
    parser.add_argument('--show-dir', help='save validation pictures here')
    parser.add_argument(
        '--interval', type=int, default=1, help='visualise every n-th sample')
    add_common_args(parser)
    return parser


def train_config(args: argparse.Namespace) -> Config:
    """Build the runner config of a training run from parsed arguments.

    Args:
        args (argparse.Namespace): Arguments of :func:`train_parser`.

    Returns:
        Config: The config with the CLI arguments merged in.
    """
    cfg = load_config(args.config, args)
    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    if args.amp:
        wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if wrapper not in ('OptimWrapper', 'AmpOptimWrapper'):
            raise ValueError(f'--amp does not support optim wrapper {wrapper}')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    enable_visualization(cfg, args.show_dir, args.interval)
    return apply_cfg_options(cfg, args.cfg_options)


def train(cfg: Config) -> SimDRRunner:
    """Train with mmengine's runner (:class:`SimDRRunner`) and return it.

    A ``--launcher pytorch`` or ``slurm`` run on a machine without CUDA
    gets a gloo process group and CPU DDP (:func:`setup_cpu_distributed`).
    Rank 0 holds ``<work_dir>/.simdr_ext.lock`` (:class:`WorkDirLock`)
    while it trains: a second run in the same work dir is refused.

    Args:
        cfg (Config): A config from :func:`train_config`.

    Returns:
        SimDRRunner: The runner after training.
    """
    check_codec_consistency(cfg)
    setup_cpu_distributed(cfg)
    lock = WorkDirLock(cfg.work_dir) if global_rank() == 0 else None
    if lock is not None:
        lock.acquire()
    try:
        runner = SimDRRunner.from_cfg(cfg)
        runner.train()
    finally:
        if lock is not None:
            lock.release()
    return runner


def global_rank() -> int:
    """This process's rank as the launcher set it (0 without one)."""
    for var in ('RANK', 'SLURM_PROCID', 'OMPI_COMM_WORLD_RANK'):
        if os.environ.get(var, '').isdigit():
            return int(os.environ[var])
    return 0


def main(argv: Optional[List[str]] = None) -> None:
    """Run ``tools/train.py``."""
    train(train_config(train_parser().parse_args(argv)))
