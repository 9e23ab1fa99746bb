# Copyright (c) simdr_ext contributors. All rights reserved.
"""Convert a TokenPose authors' checkpoint (leeyegy/TokenPose) to simdr_ext.

Example::

    CONFIG=configs/tokenpose/coco/dark_tokenpose-s_8xb32-300e_coco-256x192.py
    python tools/misc/convert_tokenpose_checkpoint.py \\
        tokenpose_s_v1.pth dark_tokenpose-s_coco-256x192.pth --config $CONFIG

Reads ``SRC`` with ``torch.load(weights_only=True)`` (a plain state dict,
or a checkpoint whose ``state_dict`` entry is used), renames the keys
(:func:`simdr_ext.utils.convert_tokenpose.convert`, mapping table there)
and writes ``{'state_dict': ..., 'meta': ...}`` to ``DST`` for
``load_from`` / ``tools/test.py``. With ``--config`` the result is also
checked against the keys and shapes of that config's model. Exits 1 when a
key is unmapped or the check fails (``DST`` is then not written). No
TokenPose weights were released (leeyegy/TokenPose#4-#6): this is for
checkpoints you trained with the authors' code.
"""
import argparse
import os.path as osp
import sys
from typing import Optional, Sequence

import torch

import simdr_ext  # noqa: F401  (registers TokenPose and its head)
from simdr_ext.utils.convert_tokenpose import check_against, convert


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Convert a TokenPose authors' checkpoint to simdr_ext")
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
