# Copyright (c) simdr_ext contributors. All rights reserved.
"""#Params and GFLOPs of simdr_ext's configs beside the SimDR paper's.

Example::

    python tools/analysis/model_table.py                  # every config
    python tools/analysis/model_table.py configs/simdr/coco --out table.md

Builds each config on CPU without downloading anything (backbone
``init_cfg`` and ``load_from`` dropped), counts parameters and conv+linear
operations at the codec's input size, and prints a markdown table with the
paper's value for the row and the ratio; the text under the table says what
is counted. Exits 1 when a row with a paper #Params misses it by more than
2% or a config cannot be measured, else 0. The work is done by
:mod:`simdr_ext.analysis.model_table`.
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional, Sequence

import torch

import simdr_ext  # noqa: F401  (registers the heads and codecs)
from simdr_ext.analysis.model_table import find_configs, model_table

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Parameters and GFLOPs of configs beside the paper's")
    parser.add_argument(
        'paths',
        nargs='*',
        default=[osp.join(REPO, 'configs')],
        help='config files or folders (default: the repository configs/)')
    parser.add_argument('--out', help='also write the table to this file')
    parser.add_argument(
        '--threads',
        type=int,
        default=1,
        help='torch intra-op threads (0: leave as is). The counts do not '
        'depend on it; 1 avoids OpenMP oversubscription on shared machines')
    return parser.parse_args(argv)


def collect(paths: Sequence[str]) -> List[str]:
    """Config files named by ``paths`` (folders are searched)."""
    files = []
    for path in paths:
        files += find_configs(path) if osp.isdir(path) else [path]
    return files


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    files = collect(args.paths)
    if not files:
        print(f'no config found in {args.paths}', file=sys.stderr)
        return 2
    rows, text = model_table(files)
    print(text, end='')
    if args.out:
        with open(args.out, 'w') as f:
            f.write(text)
    failed = any(r.misses_goal or r.error is not None for r in rows)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
