# Copyright (c) simdr_ext contributors. All rights reserved.
"""Plot training curves of a run: chosen keys of its scalars.json vs
iteration or epoch, one panel per key, written as a PNG.

A run of tools/train.py (or mim train) writes WORK_DIR/TIMESTAMP/vis_data/
scalars.json, one JSON object a line: the training lines hold the logged
values (loss, loss_kpt, acc_pose, lr, time, ...) with "iter", "epoch" and
"step", the validation lines the metrics (coco/AP, ...) with "step" = the
epoch. RUN may be that file, its vis_data folder, a timestamp folder or
the work dir (then the newest timestamp folder's file is read). A key is
plotted against --x over the lines that hold it; validation metrics, which
have no "iter", are plotted against their epoch. Lines that are not JSON
objects stop the tool with an error naming the file and line. Needs only
matplotlib (Agg back end, no display).

Examples:
  python tools/analysis/plot_curves.py work_dirs/quickstart --out curves.png
  python tools/analysis/plot_curves.py RUN/vis_data/scalars.json \\
      --keys loss acc_pose coco/AP --x epoch --out curves.png
"""
import argparse
import glob
import json
import math
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence, Tuple

from simdr_ext.utils.cli import tool_parser

#: the keys plotted when --keys is not given, those the run has
DEFAULT_KEYS = ('loss', 'acc_pose', 'coco/AP', 'lr')
#: keys that count steps, never plotted as curves
STEP_KEYS = ('iter', 'epoch', 'step')


def find_scalars(run: str) -> str:
    """The scalars.json of ``run`` (the file, its vis_data folder, a
    timestamp folder or a work dir: the newest timestamp folder's).

    Raises:
        FileNotFoundError: None found, naming ``run``.
    """
    if osp.isfile(run):
        return run
    for pattern in ('scalars.json', osp.join('vis_data', 'scalars.json'),
                    osp.join('*', 'vis_data', 'scalars.json')):
        found = sorted(glob.glob(osp.join(glob.escape(run), pattern)))
        if found:
            return found[-1]
    raise FileNotFoundError(
        f'no scalars.json in {run} (looked for scalars.json, '
        'vis_data/scalars.json and */vis_data/scalars.json)')


def read_scalars(path: str) -> List[dict]:
    """The JSON objects of a scalars.json, one a line (blank lines
    skipped).

    Raises:
        ValueError: A line that is not a JSON object, naming the file and
            the line number.
    """
    records = []
    with open(path, encoding='utf-8') as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f'{path}, line {number}: not JSON '
                                 f'({err.msg})') from None
            if not isinstance(record, dict):
                raise ValueError(f'{path}, line {number}: not a JSON object')
            records.append(record)
    return records


def curves(records: Sequence[dict], keys: Sequence[str],
           x: str = 'iter') -> Dict[str, Tuple[List[float], List[float]]]:
    """``{key: (xs, ys)}`` of each key over the records that hold it as a
    finite number.

    Args:
        records (Sequence[dict]): :func:`read_scalars`' records.
        keys (Sequence[str]): The keys to take.
        x (str): ``'iter'`` or ``'epoch'``; a record without it (a
            validation line) is placed at its ``epoch`` or ``step``.

    Returns:
        dict: The points of each key, in file order; a key no record holds
        is left out.
    """
    out: Dict[str, Tuple[List[float], List[float]]] = {}
    for record in records:
        where = record.get(x, record.get('epoch', record.get('step')))
        for key in keys:
            value = record.get(key)
            if (isinstance(value, (int, float)) and not isinstance(
                    value, bool) and math.isfinite(value)
                    and where is not None):
                xs, ys = out.setdefault(key, ([], []))
                xs.append(float(where))
                ys.append(float(value))
    return out


def plot_curves(run: str,
                out_file: str,
                keys: Optional[Sequence[str]] = None,
                x: str = 'iter',
                title: Optional[str] = None) -> List[str]:
    """Plot ``keys`` of a run's scalars.json vs ``x`` into ``out_file``.

    Args:
        run (str): The scalars.json or a folder holding it
            (:func:`find_scalars`).
        out_file (str): The PNG to write.
        keys (Sequence[str], optional): Keys to plot; ``None``: those of
            :data:`DEFAULT_KEYS` that the run has.
        x (str): ``'iter'`` or ``'epoch'``. Defaults to ``'iter'``.
        title (str, optional): Figure title; ``None``: the file's path.

    Returns:
        list[str]: The keys plotted, in panel order.

    Raises:
        FileNotFoundError: No scalars.json.
        ValueError: A malformed line, or a requested key the run never
            logged (the message lists the keys it has).
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    path = find_scalars(run)
    records = read_scalars(path)
    logged = sorted({
        k
        for r in records for k, v in r.items()
        if k not in STEP_KEYS and isinstance(v, (int, float))
    })
    wanted = list(keys) if keys else [k for k in DEFAULT_KEYS if k in logged]
    points = curves(records, wanted, x)
    missing = [k for k in wanted if k not in points]
    if missing or not wanted:
        raise ValueError(
            f'{path}: no values of {", ".join(missing) or "the default keys"}'
            f'; it has {", ".join(logged) or "no numeric keys"}')
    fig, axes = plt.subplots(
        len(wanted), 1, figsize=(7, 2.2 * len(wanted) + 0.6), sharex=True,
        squeeze=False)
    for ax, key in zip(axes[:, 0], wanted):
        xs, ys = points[key]
        ax.plot(xs, ys, marker='.' if len(xs) < 30 else None, linewidth=1)
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel(x)
    fig.suptitle(title if title is not None else path, fontsize=9)
    fig.tight_layout()
    fig.savefig(out_file, dpi=100)
    plt.close(fig)
    return wanted


def build_parser() -> argparse.ArgumentParser:
    """The command line: the module docstring is its description, its
    examples the epilog."""
    parser = tool_parser(__doc__)
    parser.add_argument(
        'run',
        help='scalars.json, its vis_data folder, a timestamp folder or a '
        'work dir')
    parser.add_argument(
        '--keys',
        nargs='+',
        help='keys to plot, one panel each (without it: those of '
        f'{" ".join(DEFAULT_KEYS)} that the run logged)')
    parser.add_argument(
        '--x',
        choices=['iter', 'epoch'],
        default='iter',
        help='the horizontal axis')
    parser.add_argument(
        '--out',
        default='curves.png',
        help='the PNG to write (relative to the current folder)')
    parser.add_argument(
        '--title', help='figure title (without it: the scalars.json path)')
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        keys = plot_curves(args.run, args.out, args.keys, args.x, args.title)
    except (FileNotFoundError, ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    print(f'wrote {args.out}: {", ".join(keys)} vs {args.x}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
