# Copyright (c) simdr_ext contributors. All rights reserved.
"""What the checkpoint converters share: the report, loading, the CLI.

Both converters (:mod:`simdr_ext.utils.convert_simdr`,
:mod:`simdr_ext.utils.convert_tokenpose`) return a :class:`ConversionReport`
(or a subclass naming the layout found) and print it with
:meth:`ConversionReport.summary`, so their output reads the same::

    layout: pose_resnet backbone, simdr head with deconvolutions
    dropped prefix: 'module.'
    mapped keys: 342
    unmapped keys: 0
    checked against: simdr_res50_4xb32-140e_coco-256x192.py
    missing keys: 0
    unexpected keys: 0
    shape mismatches: 0
    dtype mismatches: 0

then the first few keys of each kind of problem.
A key without a simdr_ext name is an error (:class:`UnmappedKeysError`,
listing a few of them), never silently dropped.
"""
import argparse
import os.path as osp
import sys
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import torch
from torch import Tensor

#: keys shown in a report or an error before "... and N more"
SHOWN = 10
#: keys named in the one-line unmapped-keys error
SHOWN_IN_ERROR = 5

DATA_PARALLEL_PREFIX = 'module.'


def _first(keys: Sequence[str], n: int) -> str:
    names = ', '.join(repr(k) for k in keys[:n])
    more = f' and {len(keys) - n} more' if len(keys) > n else ''
    return names + more


@dataclass
class ConversionReport:
    """What a conversion did.

    Args:
        mapped (dict): Source key -> destination key, in source order.
        unmapped (list): Source keys with no destination (left out).
        stripped_prefix (str): The ``DataParallel`` prefix dropped from
            every key: ``''`` or ``'module.'``.
        checked_against (str, optional): Name of the model (config) the
            result was checked against by :meth:`check`; ``None`` until
            then.
        problems (list): :func:`check_against`'s lines (``missing: k``,
            ``unexpected: k``, ``shape: k ...``, ``dtype: k ...``) from
            :meth:`check`.
    """

    mapped: Dict[str, str] = field(default_factory=dict)
    unmapped: List[str] = field(default_factory=list)
    stripped_prefix: str = ''
    checked_against: Optional[str] = None
    problems: List[str] = field(default_factory=list)

    @property
    def layout(self) -> str:
        """The source layout found (converters override this)."""
        return 'unknown'

    @property
    def ok(self) -> bool:
        """True when every key was mapped."""
        return not self.unmapped

    def _count(self, kind: str) -> int:
        return sum(line.startswith(kind + ': ') for line in self.problems)

    def check(self, dst: Mapping[str, Tensor],
              reference: Mapping[str, Tensor], name: str) -> List[str]:
        """Compare the converted state dict with a model's; keep the result.

        Args:
            dst (Mapping[str, Tensor]): The converted state dict.
            reference (Mapping[str, Tensor]): ``model.state_dict()``.
            name (str): What ``reference`` is (e.g. the config's file
                name), for the summary.

        Returns:
            list[str]: :func:`check_against`'s lines; empty when
            ``load_state_dict(strict=True)`` succeeds.
        """
        self.checked_against = name
        self.problems = check_against(dst, reference)
        return self.problems

    def summary(self) -> str:
        """The report: layout, prefix, counts, then the first
        :data:`SHOWN` keys of each kind of problem."""
        lines = [f'layout: {self.layout}']
        if self.stripped_prefix:
            lines.append(f'dropped prefix: {self.stripped_prefix!r}')
        lines += [
            f'mapped keys: {len(self.mapped)}',
            f'unmapped keys: {len(self.unmapped)}',
        ]
        lines += [f'  unmapped: {k}' for k in self.unmapped[:SHOWN]]
        if len(self.unmapped) > SHOWN:
            lines.append(f'  ... and {len(self.unmapped) - SHOWN} more')
        if self.checked_against is None:
            lines.append('checked against: no model (none given)')
            return '\n'.join(lines)
        lines += [
            f'checked against: {self.checked_against}',
            f'missing keys: {self._count("missing")}',
            f'unexpected keys: {self._count("unexpected")}',
            f'shape mismatches: {self._count("shape")}',
            f'dtype mismatches: {self._count("dtype")}',
        ]
        for kind in ('missing', 'unexpected', 'shape', 'dtype'):
            found = [p for p in self.problems if p.startswith(kind + ': ')]
            lines += [f'  {p}' for p in found[:SHOWN]]
            if len(found) > SHOWN:
                lines.append(f'  ... and {len(found) - SHOWN} more {kind}')
        return '\n'.join(lines)

    def unmapped_message(self) -> str:
        """One line naming the number of unmapped keys and a few of them."""
        total = len(self.unmapped) + len(self.mapped)
        return (f'{len(self.unmapped)} of {total} keys have no simdr_ext '
                f'name (layout: {self.layout}): '
                f'{_first(self.unmapped, SHOWN_IN_ERROR)}')


class UnmappedKeysError(ValueError):
    """Keys of the source checkpoint that the converter cannot name.

    Args:
        report (ConversionReport): The conversion's report; the message
            lists a few of its unmapped keys.
    """

    def __init__(self, report: ConversionReport) -> None:
        super().__init__(report.unmapped_message())
        self.report = report


def strip_data_parallel(keys: Sequence[str]) -> str:
    """``'module.'`` when every key has it (``nn.DataParallel``'s
    ``state_dict()``, as in the authors' ``checkpoint.pth``), else ``''``.
    """
    if keys and all(k.startswith(DATA_PARALLEL_PREFIX) for k in keys):
        return DATA_PARALLEL_PREFIX
    return ''


def check_source(src: Mapping, what: str = 'the source state dict') -> None:
    """Reject a source that is not a state dict of tensors.

    Raises:
        TypeError: naming the first offending entry.
    """
    if not isinstance(src, MappingABC):
        raise TypeError(f'{what} must be a mapping of key -> tensor, got '
                        f'{type(src).__name__}')
    for key, value in src.items():
        if not isinstance(key, str) or not isinstance(value, Tensor):
            raise TypeError(
                f'{what} must map str keys to tensors; entry {key!r} is a '
                f'{type(value).__name__}')


def check_against(dst: Mapping[str, Tensor],
                  reference: Mapping[str, Tensor]) -> List[str]:
    """Differences between a converted state dict and a model's.

    Args:
        dst (Mapping[str, Tensor]): A converted state dict.
        reference (Mapping[str, Tensor]): ``model.state_dict()`` of the
            model the weights are for.

    Returns:
        list[str]: One line per missing, unexpected, mis-shaped or
        wrong-kind (integer vs floating point) key
        (:func:`simdr_ext.engine.state_dict_differences`); empty when
        ``load_state_dict(strict=True)`` succeeds. Missing
        ``num_batches_tracked`` buffers are not reported: checkpoints of
        PyTorch < 0.4.1 lack them and BatchNorm fills them in on load.
    """
    from simdr_ext.engine.checkpoint import state_dict_differences
    return [
        line for line in state_dict_differences(reference, dst)
        if not (line.startswith('missing: ')
                and line.endswith('num_batches_tracked'))
    ]


def load_state_dict(path: str) -> dict:
    """The state dict inside a ``.pth`` file (``weights_only`` load).

    Args:
        path (str): A plain state dict (the authors' ``final_state.pth`` /
            ``model_best.pth``) or a checkpoint with a ``state_dict`` entry
            (the authors' ``checkpoint.pth``, whose ``state_dict`` holds
            ``module.`` keys; an mmengine checkpoint).

    Returns:
        dict: The state dict.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        TypeError: the file is no PyTorch checkpoint (or needs more than
            ``weights_only`` loading), or holds no state dict of tensors.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint {path} does not exist')
    try:
        ckpt = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as err:  # unpickling / zip errors of many kinds
        raise TypeError(f'cannot read {path} as a PyTorch checkpoint '
                        f'({type(err).__name__}: {err})'.split('\n')[0]) \
            from None
    if isinstance(ckpt, dict) and isinstance(ckpt.get('state_dict'), dict):
        ckpt = ckpt['state_dict']
    check_source(ckpt, f'the state dict in {path}')
    return ckpt


def reference_state_dict(config: str) -> dict:
    """``state_dict()`` of a config's model, built on the ``meta`` device:
    keys, shapes and dtypes without memory or initialisation (so no
    pretrained weights are downloaded either).

    Args:
        config (str): A simdr_ext config file.

    Returns:
        dict: The model's state dict.

    Raises:
        FileNotFoundError: ``config`` does not exist.
    """
    if not osp.isfile(config):
        raise FileNotFoundError(f'config {config} does not exist')
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import simdr_ext  # noqa: F401  (registers the models)
    from mmpose.registry import MODELS
    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmpose'))
    with torch.device('meta'):
        return MODELS.build(cfg.model).state_dict()


def conversion_main(convert: Callable[..., Tuple[dict, ConversionReport]],
                    description: str,
                    argv: Optional[Sequence[str]] = None) -> int:
    """``SRC DST [--config CFG]``: convert, optionally check, write.

    Args:
        convert (callable): ``convert(state_dict, strict=False) ->
            (state_dict, report)``.
        description (str): The CLI description.
        argv (Sequence[str], optional): Arguments. Defaults to ``None``.

    Returns:
        int: 0, or 1 when a key is unmapped or the check fails (then
        nothing is written and the reason is printed to stderr).
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('src', help="the authors' checkpoint (.pth)")
    parser.add_argument('dst', help='where to write the converted checkpoint')
    parser.add_argument(
        '--config',
        help='check the result against the model of this simdr_ext config')
    args = parser.parse_args(argv)
    try:
        if args.config and not osp.isfile(args.config):
            raise FileNotFoundError(f'config {args.config} does not exist')
        src = load_state_dict(args.src)
        dst, report = convert(src, strict=False)
        if report.ok and args.config:
            report.check(dst, reference_state_dict(args.config),
                         osp.basename(args.config))
    except (FileNotFoundError, TypeError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    print(report.summary())
    if not report.ok:
        print(f'error: {report.unmapped_message()}; nothing written',
              file=sys.stderr)
        return 1
    if report.problems:
        print(f'error: does not match {osp.basename(args.config)} '
              f'({len(report.problems)} problems); nothing written',
              file=sys.stderr)
        return 1
    torch.save(
        dict(state_dict=dst, meta=dict(converted_from=osp.basename(args.src))),
        args.dst)
    print(f'wrote {args.dst}')
    return 0
