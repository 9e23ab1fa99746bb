# Copyright (c) simdr_ext contributors. All rights reserved.
"""The README's first command: train on the bundled images, test, print AP.

Example::

    python tools/quickstart.py [--work-dir DIR] [--min-ap 0.9]

Runs ``tools/train.py`` on the quickstart config (the bundled COCO images,
from scratch) and ``tools/test.py`` on its last checkpoint, each in its own
process as a user would run them, so the checkpoint is read back through
``torch.load(weights_only=True)``. Exits 1 when the COCO AP is below
``--min-ap``.
"""
import argparse
import json
import os.path as osp
import subprocess
import sys
import time
from typing import Optional, Sequence
from simdr_ext.utils.cli import tool_parser

TOOLS = osp.dirname(osp.abspath(__file__))
#: the repository (or, installed, ``simdr_ext/.mim``)
ROOT = osp.dirname(TOOLS)
QUICKSTART_CONFIG = osp.join(ROOT, 'configs', 'quickstart',
                             'simdr_res18_1xb12-300e_coco-mini-128x96.py')


def run_tool(tool: str, *args: str) -> None:
    """Run ``tools/<tool>`` with this interpreter; stop on failure."""
    cmd = [sys.executable, osp.join(TOOLS, tool), *args]
    if subprocess.run(cmd).returncode != 0:
        raise SystemExit(f'quickstart: {" ".join(cmd)} failed')


def build_parser() -> argparse.ArgumentParser:
    """The command line: the module docstring is its description, its
    examples the epilog."""
    parser = tool_parser(__doc__)
    parser.add_argument(
        '--config',
        default=QUICKSTART_CONFIG,
        help='the config to train and test (the bundled quickstart config)')
    parser.add_argument(
        '--work-dir',
        default=osp.join('work_dirs', 'quickstart'),
        help='folder for the logs, scalars and checkpoints (relative to the '
        'current folder)')
    parser.add_argument(
        '--min-ap',
        type=float,
        default=0.9,
        help='exit 1 when the COCO AP is below this')
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    start = time.time()
    run_tool('train.py', args.config, '--work-dir', args.work_dir)
    train_seconds = time.time() - start
    with open(osp.join(args.work_dir, 'last_checkpoint')) as f:
        checkpoint = f.read().strip()
    metrics_file = osp.join(args.work_dir, 'quickstart_metrics.json')
    run_tool('test.py', args.config, checkpoint, '--work-dir', args.work_dir,
             '--out', metrics_file)
    with open(metrics_file) as f:
        ap = json.load(f)['coco/AP']
    print(f'\nquickstart: trained {osp.basename(args.config)} in '
          f'{train_seconds:.0f} s; checkpoint {checkpoint}')
    print(f'quickstart: COCO keypoint AP on the bundled images = {ap:.3f} '
          f'(overfit check, goal >= {args.min_ap}); total '
          f'{time.time() - start:.0f} s')
    return 0 if ap >= args.min_ap else 1


if __name__ == '__main__':
    sys.exit(main())
