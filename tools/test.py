# Copyright (c) simdr_ext contributors. All rights reserved.
"""Test a checkpoint with mmpose's flags.

mim test simdr_ext CONFIG -C CHECKPOINT runs this file, and
tools/dist_test.sh / tools/slurm_test.sh start it once per process. CONFIG
is a config file, or the bare name of one of simdr_ext's configs. The
checkpoint is read by simdr_ext.engine.CheckedRunner with strict loading:
it must fit the model exactly (missing, unexpected or mis-shaped keys raise
ValueError listing them).

Examples:
  python tools/test.py CONFIG work_dirs/qs/epoch_300.pth --out metrics.json
  python tools/test.py CONFIG CKPT \\
      --cfg-options test_dataloader.dataset.bbox_file=dets.json
  mim test simdr_ext simdr_res18_1xb12-300e_coco-mini-128x96.py -C CKPT
"""
import argparse
import os
import os.path as osp
from typing import Optional, Sequence

from mmengine.config import Config, DictAction
from mmengine.fileio import dump

from simdr_ext.engine import CheckedRunner, setup_cpu_distributed
from simdr_ext.utils.cli import tool_parser


def build_parser() -> argparse.ArgumentParser:
    """The command line: the module docstring is its description, its
    examples the epilog."""
    parser = tool_parser(__doc__)
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none', help='job launcher (pytorch: tools/dist_test.sh)')
    parser.add_argument(
        '--local_rank',
        '--local-rank',
        type=int,
        default=0,
        help='set by torch.distributed launchers; LOCAL_RANK when unset')
    parser.add_argument('--out', help='save the metrics to this JSON file')
    parser.add_argument(
        '--dump', help='save the predictions to this pickle file')
    parser.add_argument('--show-dir', help='save result pictures here')
    parser.add_argument(
        '--interval', type=int, default=1, help='visualise every n-th sample')
    parser.add_argument(
        '--work-dir',
        help='where the logs and metrics of the run go (default: '
        'work_dirs/CONFIG_NAME in the current folder)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries, key=value (e.g. '
        'model.test_cfg.flip_test=False); applied last')
    return parser


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    args = build_parser().parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """The runner config of a test run: ``cfg`` with the flags merged in,
    ``--cfg-options`` last. Logs go to ``--work-dir``, else the config's
    ``work_dir``, else ``./work_dirs/<config name>``."""
    cfg.launcher = args.launcher
    cfg.load_from = args.checkpoint
    name = osp.splitext(osp.basename(args.config))[0]
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        './work_dirs', name)
    if args.show_dir is not None:
        hooks = cfg.default_hooks
        if 'visualization' not in hooks:
            raise ValueError('--show-dir needs visualization=dict(type='
                             '"PoseVisualizationHook") in default_hooks')
        hooks.visualization.update(
            enable=True, out_dir=args.show_dir, interval=args.interval)
    if args.dump is not None:
        evaluators = cfg.test_evaluator
        if not isinstance(evaluators, (list, tuple)):
            evaluators = [evaluators]
        cfg.test_evaluator = [
            *evaluators,
            dict(type='DumpResults', out_file_path=args.dump)
        ]
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    return cfg


def test(cfg: Config, out: Optional[str] = None) -> dict:
    """Evaluate ``cfg.load_from`` with :class:`CheckedRunner`, loading it
    strictly.

    Args:
        cfg (Config): A full config with ``load_from`` and ``work_dir``.
        out (str, optional): JSON file for the metrics. Defaults to ``None``.

    Returns:
        dict: The metrics, e.g. ``{'coco/AP': ...}``.
    """
    setup_cpu_distributed(cfg)
    runner = CheckedRunner.from_cfg(cfg)
    runner.strict_load = True
    metrics = runner.test()
    if out is not None:
        dump({k: float(v) for k, v in metrics.items()}, out, indent=2)
    return metrics


def main(argv: Optional[Sequence[str]] = None) -> dict:
    args = parse_args(argv)
    return test(merge_args(Config.fromfile(args.config), args), args.out)


if __name__ == '__main__':
    main()
