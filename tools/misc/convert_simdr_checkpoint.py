# Copyright (c) simdr_ext contributors. All rights reserved.
"""Convert a SimDR authors' checkpoint (leeyegy/SimDR) to simdr_ext keys.

Example::

    python tools/misc/convert_simdr_checkpoint.py \\
        pose_resnet_50_simdr_256x192.pth simdr_res50_256x192.pth \\
        --config configs/simdr/coco/simdr_res50_4xb32-140e_coco-256x192.py

Reads ``SRC`` with ``torch.load(weights_only=True)`` (a plain state dict,
or a training checkpoint whose ``state_dict`` entry is used), renames the
keys (:func:`simdr_ext.utils.convert_simdr.convert`) and writes
``{'state_dict': ..., 'meta': ...}`` to ``DST``, which ``tools/test.py``
and ``load_from`` accept. With ``--config`` the result is also checked
against the keys and shapes of that config's model. Exits 1 when a key is
unmapped or the check fails (``DST`` is then not written).
"""
import argparse
import os.path as osp
import sys
from typing import Optional, Sequence

import torch

import simdr_ext  # noqa: F401  (registers the heads and codecs)
from simdr_ext.utils.convert_simdr import check_against, convert


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Convert a SimDR authors' checkpoint to simdr_ext keys")
    parser.add_argument('src', help="the authors' checkpoint (.pth)")
    parser.add_argument('dst', help='where to write the converted checkpoint')
    parser.add_argument(
        '--config',
        help='check the result against the model of this simdr_ext config')
    return parser.parse_args(argv)


def load_state_dict(path: str) -> dict:
    """The model state dict inside an authors' ``.pth`` file."""
    ckpt = torch.load(path, map_location='cpu', weights_only=True)
    if isinstance(ckpt, dict) and isinstance(ckpt.get('state_dict'), dict):
        return ckpt['state_dict']
    return ckpt


def reference_state_dict(config: str) -> dict:
    """``state_dict()`` of a config's model, built without downloads."""
    from simdr_ext.analysis.model_table import build_model, load_config
    return build_model(load_config(config)).state_dict()


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    dst, report = convert(load_state_dict(args.src))
    print(report.summary())
    if not report.ok:
        print('error: unmapped keys, nothing written', file=sys.stderr)
        return 1
    if args.config:
        problems = check_against(dst, reference_state_dict(args.config))
        for line in problems:
            print(f'  {line}')
        if problems:
            print(
                f'error: does not match {osp.basename(args.config)}, '
                'nothing written',
                file=sys.stderr)
            return 1
        print(f'matches the model of {osp.basename(args.config)}')
    torch.save(
        dict(state_dict=dst, meta=dict(converted_from=osp.basename(args.src))),
        args.dst)
    print(f'wrote {args.dst}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
