# Copyright (c) simdr_ext contributors. All rights reserved.
"""What the checkpoint converters share: loading, checking, the CLI."""
import argparse
import os.path as osp
import sys
from typing import Callable, List, Mapping, Optional, Sequence, Tuple

import torch
from torch import Tensor


def check_against(dst: Mapping[str, Tensor],
                  reference: Mapping[str, Tensor]) -> List[str]:
    """Differences between a converted state dict and a model's.

    Args:
        dst (Mapping[str, Tensor]): A converted state dict.
        reference (Mapping[str, Tensor]): ``model.state_dict()`` of the
            model the weights are for.

    Returns:
        list[str]: One line per missing, unexpected or mis-shaped key
        (:func:`simdr_ext.engine.state_dict_differences`); empty when
        ``load_state_dict(strict=True)`` succeeds. Missing
        ``num_batches_tracked`` buffers are not reported: older checkpoints
        lack them and BatchNorm fills them in on load.
    """
    from simdr_ext.engine.runner import state_dict_differences
    return [
        line for line in state_dict_differences(reference, dst)
        if not (line.startswith('missing: ')
                and line.endswith('num_batches_tracked'))
    ]


def load_state_dict(path: str) -> dict:
    """The state dict inside a ``.pth`` file (``weights_only`` load).

    Args:
        path (str): A plain state dict or a checkpoint with ``state_dict``.

    Returns:
        dict: The state dict.
    """
    ckpt = torch.load(path, map_location='cpu', weights_only=True)
    if isinstance(ckpt, dict) and isinstance(ckpt.get('state_dict'), dict):
        return ckpt['state_dict']
    return ckpt


def reference_state_dict(config: str) -> dict:
    """``state_dict()`` of a config's model, built without downloads."""
    from simdr_ext.analysis.model_table import build_model, load_config
    return build_model(load_config(config)).state_dict()


def conversion_main(convert: Callable[[dict], Tuple[dict, object]],
                    description: str,
                    argv: Optional[Sequence[str]] = None) -> int:
    """``SRC DST [--config CFG]``: convert, optionally check, write.

    Args:
        convert (callable): ``state_dict -> (state_dict, report)``; the
            report has ``ok`` and ``summary()``.
        description (str): The CLI description.
        argv (Sequence[str], optional): Arguments. Defaults to ``None``.

    Returns:
        int: 0, or 1 when a key is unmapped or the check fails (then
        nothing is written).
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('src', help="the authors' checkpoint (.pth)")
    parser.add_argument('dst', help='where to write the converted checkpoint')
    parser.add_argument(
        '--config',
        help='check the result against the model of this simdr_ext config')
    args = parser.parse_args(argv)
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
            print(f'error: does not match {osp.basename(args.config)}, '
                  'nothing written', file=sys.stderr)
            return 1
        print(f'matches the model of {osp.basename(args.config)}')
    torch.save(
        dict(state_dict=dst, meta=dict(converted_from=osp.basename(args.src))),
        args.dst)
    print(f'wrote {args.dst}')
    return 0
