# Copyright (c) simdr_ext contributors. All rights reserved.
"""Train a simdr_ext model with mmpose's flags.

mim train simdr_ext CONFIG runs this file, and tools/dist_train.sh /
tools/slurm_train.sh start it once per process (--launcher pytorch|slurm).
CONFIG is a config file, or the bare name of one of simdr_ext's configs.
The runner is simdr_ext.engine.CheckedRunner (crash-safe checkpoints,
checked resuming, the representation checks). A --launcher pytorch or slurm
run on a machine without CUDA gets a gloo process group and CPU DDP
(simdr_ext.engine.setup_cpu_distributed). Rank 0 holds
WORK_DIR/.simdr_ext.lock (simdr_ext.engine.WorkDirLock) while it trains: a
second run in the same work dir is refused. Logs, scalars
(vis_data/scalars.json, plotted by tools/analysis/plot_curves.py) and
checkpoints go to --work-dir, by default work_dirs/CONFIG_NAME in the
current folder.

Examples:
  python tools/train.py \\
      configs/quickstart/simdr_res18_1xb12-300e_coco-mini-128x96.py \\
      --work-dir work_dirs/qs
  python tools/train.py CONFIG --resume --cfg-options train_cfg.max_epochs=10
  mim train simdr_ext simdr_res18_1xb12-300e_coco-mini-128x96.py
"""
import argparse
import os
import os.path as osp
from typing import Optional, Sequence

from mmengine.config import Config, DictAction

from simdr_ext.engine import CheckedRunner, WorkDirLock, setup_cpu_distributed
from simdr_ext.utils.cli import tool_parser


def build_parser() -> argparse.ArgumentParser:
    """The command line: the module docstring is its description, its
    examples the epilog."""
    parser = tool_parser(__doc__)
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--work-dir',
        help='the folder for logs and checkpoints (default: '
        'work_dirs/CONFIG_NAME in the current folder)')
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
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries, key=value (e.g. '
        'train_cfg.max_epochs=10); applied last')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher (pytorch: tools/dist_train.sh, slurm: '
        'tools/slurm_train.sh)')
    # torch.distributed launchers pass --local-rank (torch >= 2) or
    # --local_rank (older); both are accepted.
    parser.add_argument(
        '--local_rank',
        '--local-rank',
        type=int,
        default=0,
        help='set by torch.distributed launchers; LOCAL_RANK when unset')
    return parser


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    args = build_parser().parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """The runner config of a training run: ``cfg`` with the flags merged
    in, ``--cfg-options`` last so they win.

    The work directory is, in this order: ``--work-dir``, ``work_dir`` in the
    config, ``./work_dirs/<config name>``.
    """
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
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
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    return cfg


def global_rank() -> int:
    """This process's rank as the launcher set it (0 without one)."""
    for var in ('RANK', 'SLURM_PROCID', 'OMPI_COMM_WORLD_RANK'):
        if os.environ.get(var, '').isdigit():
            return int(os.environ[var])
    return 0


def train(cfg: Config) -> CheckedRunner:
    """Train with :class:`CheckedRunner` and return it.

    Args:
        cfg (Config): A full config with ``work_dir`` (and ``launcher``).

    Returns:
        CheckedRunner: The runner after training.
    """
    setup_cpu_distributed(cfg)
    lock = WorkDirLock(cfg.work_dir) if global_rank() == 0 else None
    if lock is not None:
        lock.acquire()
    try:
        runner = CheckedRunner.from_cfg(cfg)
        runner.train()
    finally:
        if lock is not None:
            lock.release()
    return runner


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    train(merge_args(Config.fromfile(args.config), args))


if __name__ == '__main__':
    main()
