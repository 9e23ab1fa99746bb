# Copyright (c) simdr_ext contributors. All rights reserved.
"""Testing entry point behind ``tools/test.py`` and ``mim test``."""
import argparse
from typing import List, Optional

from mmengine.config import Config

from ..engine import SimDRRunner, setup_cpu_distributed
from .common import (add_common_args, apply_cfg_options,
                     enable_visualization, load_config)


def test_parser() -> argparse.ArgumentParser:
    """The ``tools/test.py`` command line (mmpose's flags)."""
    parser = argparse.ArgumentParser(description='Test a simdr_ext model')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', help='save the metrics to this JSON file')
    parser.add_argument(
        '--dump', help='save the predictions to this pickle file')
    parser.add_argument('--show-dir', help='save result pictures here')
    parser.add_argument(
        '--interval', type=int, default=1, help='visualise every n-th sample')
    add_common_args(parser)
    return parser


def test_config(args: argparse.Namespace) -> Config:
    """Build the runner config of a test run from parsed arguments.

    Args:
        args (argparse.Namespace): Arguments of :func:`test_parser`.

    Returns:
        Config: The config with the CLI arguments merged in.
    """
    cfg = load_config(args.config, args)
    cfg.load_from = args.checkpoint
    enable_visualization(cfg, args.show_dir, args.interval)
    if args.dump is not None:
        dump = dict(type='DumpResults', out_file_path=args.dump)
        evaluators = cfg.test_evaluator
        if not isinstance(evaluators, (list, tuple)):
            evaluators = [evaluators]
        cfg.test_evaluator = [*evaluators, dump]
    return apply_cfg_options(cfg, args.cfg_options)


def test(cfg: Config, out: Optional[str] = None) -> dict:
    """Evaluate a checkpoint with mmengine's runner (:class:`SimDRRunner`).

    The checkpoint must fit the model exactly: missing, unexpected or
    mis-shaped keys raise ``ValueError`` listing them.

    Args:
        cfg (Config): A config from :func:`test_config`.
        out (str, optional): JSON file for the metrics. Defaults to ``None``.

    Returns:
        dict: The metrics, e.g. ``{'coco/AP': ...}``.
    """
    setup_cpu_distributed(cfg)
    runner = SimDRRunner.from_cfg(cfg)
    runner.strict_load = True
    metrics = runner.test()
    if out is not None:
        from mmengine.fileio import dump
        dump({k: float(v) for k, v in metrics.items()}, out, indent=2)
    return metrics


def main(argv: Optional[List[str]] = None) -> dict:
    """Run ``tools/test.py``."""
    args = test_parser().parse_args(argv)
    return test(test_config(args), args.out)
