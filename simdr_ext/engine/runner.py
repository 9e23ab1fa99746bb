# Copyright (c) simdr_ext contributors. All rights reserved.
import inspect
import math
import os.path as osp
from typing import Dict, List, Optional

import numpy as np
import torch
from mmengine.dist import get_world_size, master_only
from mmengine.hooks import CheckpointHook, Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint_to_model

from mmpose.datasets.transforms import GenerateTarget, TopdownAffine
from mmpose.registry import HOOKS, RUNNERS
from .checkpoint import (DIGEST_KEY, CheckpointError, SafeCheckpointHook,
                         atomic_replace, check_fits,
                         find_resumable_checkpoint, read_checked_checkpoint,
                         weights_digest)

# codec arguments that steer decoding only: an encoder may differ in them
DECODE_ONLY = frozenset({'decode_refine', 'decode_mode', 'blur_kernel_size',
                         'decode_visibility', 'decode_beta', 'use_dark'})


def bare(model: torch.nn.Module) -> torch.nn.Module:
    return model.module if is_model_wrapper(model) else model


def codec_difference(encoder, decoder) -> Optional[tuple]:
    """The first ``(argument, encoder value, decoder value)`` in which two
    built codecs differ (``type`` first, then each constructor argument
    stored on them, decode-only ones skipped); ``None`` when they agree."""
    if type(encoder) is not type(decoder):
        return 'type', type(encoder).__name__, type(decoder).__name__
    for name in inspect.signature(type(encoder).__init__).parameters:
        if name in DECODE_ONLY or not hasattr(encoder, name):
            continue
        a, b = getattr(encoder, name), getattr(decoder, name, None)
        if not np.array_equal(np.asarray(a, object), np.asarray(b, object)):
            return name, a, b
    return None


def transforms(dataset) -> list:
    """The transforms of a data set's pipeline and of those it wraps."""
    found, stack = [], [dataset]
    while stack:
        ds = stack.pop()
        found += getattr(getattr(ds, 'pipeline', None), 'transforms', [])
        stack += list(getattr(ds, 'datasets', []))
        stack += [getattr(ds, 'dataset')] if hasattr(ds, 'dataset') else []
    return found


@HOOKS.register_module()
class RepresentationCheckHook(Hook):
    """Stops a run whose data and head describe different representations.

    Before training (train and val data), validation and testing it checks
    the data set of each phase: its ``num_keypoints`` equals the head's
    ``out_channels``; each ``GenerateTarget`` encoder is the head's decoder
    (type and every argument but the decode-only ones); each
    ``TopdownAffine`` crops to the decoder's ``input_size``. Otherwise a
    config that changes ``codec`` in one place trains on one grid and
    decodes on another, or fails with a shape error deep inside the loss or
    the metric.
    """

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        self.check(runner, 'train', 'val')

    def before_val(self, runner) -> None:
        self.check(runner, 'val')

    def before_test(self, runner) -> None:
        self.check(runner, 'test')

    def check(self, runner, *phases: str) -> None:
        head = getattr(bare(runner.model), 'head', None)
        decoder = getattr(head, 'decoder', None)
        for phase in phases:
            loop = getattr(runner, f'_{phase}_loop', None)
            dataset = getattr(getattr(loop, 'dataloader', None), 'dataset',
                              None)
            if head is None or dataset is None:
                continue
            meta = getattr(dataset, 'metainfo', None) or {}
            count, expected = meta.get('num_keypoints'), getattr(
                head, 'out_channels', None)
            if None not in (count, expected) and count != expected:
                raise ValueError(
                    f'the {phase} dataset has {count} keypoints '
                    f'({meta.get("dataset_name", "?")}) but the head predicts '
                    f'{expected} (head.out_channels): use a config for this '
                    'data set or set out_channels to match')
            for t in transforms(dataset) if decoder is not None else []:
                diff = None
                if isinstance(t, TopdownAffine) and tuple(
                        t.input_size) != tuple(decoder.input_size):
                    diff = ('input_size', tuple(t.input_size),
                            tuple(decoder.input_size))
                elif isinstance(t, GenerateTarget) and not isinstance(
                        t.encoder, list):
                    diff = codec_difference(t.encoder, decoder)
                if diff:
                    raise ValueError(
                        f'the {phase} pipeline\'s {type(t).__name__} has '
                        f'{diff[0]}={diff[1]!r} but model.head.decoder has '
                        f'{diff[0]}={diff[2]!r}: write the codec once '
                        '(codec = dict(...)) and bind the data set and '
                        'head.decoder to it')


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Stops training at the first iteration whose loss is NaN or inf
    (mmengine logs ``loss: nan`` and exits 0 with useless weights)."""

    priority = 'VERY_HIGH'

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        bad = {k: float(torch.as_tensor(v).detach().float().mean())
               for k, v in (outputs if isinstance(outputs, dict) else {}
                            ).items() if k.startswith('loss')}
        bad = {k: v for k, v in bad.items() if not math.isfinite(v)}
        if bad:
            raise FloatingPointError(
                f'non-finite loss at iteration {runner.iter + 1} (epoch '
                f'{runner.epoch + 1}, batch {batch_idx + 1}): ' +
                ', '.join(f'{k}={v}' for k, v in bad.items()) +
                '; training stopped. Lower the learning rate, or resume '
                'from a checkpoint written before the loss diverged')


# optimizer state keys that vary with the torch version, not the optimizer
OPTIMIZER_VERSION_KEYS = frozenset({
    'foreach', 'capturable', 'differentiable', 'fused', 'maximize',
    'decoupled_weight_decay', 'initial_lr', 'params'
})


def optimizer_differences(current: Dict, saved: Dict) -> List[str]:
    """How a checkpoint's ``optimizer`` state differs from this run's
    ``optimizer.state_dict()``, one line a difference (empty: they match).
    """
    cur, old = current.get('param_groups', []), saved.get('param_groups', [])
    if len(cur) != len(old):
        return [f'{len(old)} parameter groups in the checkpoint, '
                f'{len(cur)} in this run']
    lines = []
    for i, (c, o) in enumerate(zip(cur, old)):
        ck, ok = set(c) - OPTIMIZER_VERSION_KEYS, set(o) - \
            OPTIMIZER_VERSION_KEYS
        if ck != ok:
            lines.append(f'group {i}: the checkpoint\'s optimizer has '
                         f'settings {sorted(ok - ck)}, this run\'s has '
                         f'{sorted(ck - ok)} (another optimizer type)')
        if len(c.get('params', [])) != len(o.get('params', [])):
            lines.append(f'group {i}: {len(o.get("params", []))} parameters '
                         f'in the checkpoint, {len(c.get("params", []))} in '
                         'this run')
    return lines


@RUNNERS.register_module()
class CheckedRunner(Runner):
    """mmengine's ``Runner`` with crash-safe checkpoints and checked loading.

    - Saving writes ``<name>.tmp``, flushes it and renames it; the weights'
      SHA-256 and the world size go into ``meta``, and
      :class:`SafeCheckpointHook` replaces ``CheckpointHook``.
    - ``--resume`` without a path falls back to the newest complete
      checkpoint when ``last_checkpoint`` is empty or names a missing file.
    - Loading: :func:`~.checkpoint.read_checked_checkpoint`; resuming also
      needs training state, an exact fit and the same optimizer (else it
      says to use ``load_from``); ``strict_load=True`` (testing) refuses
      any key that does not fit.
    - :class:`RepresentationCheckHook` and :class:`NonFiniteLossHook` run
      unless the config's ``custom_hooks`` hold them already.

    ``runner_type = 'CheckedRunner'`` (``configs/_base_/default_runtime.py``)
    selects it wherever a runner is built by ``RUNNERS.build(cfg)``.
    """

    strict_load = False
    _resuming = False

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for hook in (RepresentationCheckHook, NonFiniteLossHook):
            if not any(isinstance(h, hook) for h in self._hooks):
                self.register_hook(hook())

    def register_default_hooks(self, hooks=None) -> None:
        hooks = dict(hooks or {})
        ckpt = hooks.get('checkpoint', dict(type='CheckpointHook',
                                            interval=1))
        if isinstance(ckpt, dict) and ckpt.get('type') in (
                'CheckpointHook', CheckpointHook):
            hooks['checkpoint'] = dict(ckpt, type=SafeCheckpointHook)
        super().register_default_hooks(hooks)

    @master_only
    def save_checkpoint(self, out_dir: str, filename: str, *args,
                        **kwargs) -> None:
        meta = dict(kwargs.get('meta') or {}, world_size=get_world_size())
        meta[DIGEST_KEY] = weights_digest(bare(self.model).state_dict())
        kwargs['meta'] = meta
        save = super().save_checkpoint
        atomic_replace(osp.join(out_dir, filename), lambda tmp: save(
            out_dir, osp.basename(tmp), *args, **kwargs))

    def load_or_resume(self) -> None:
        if not self._has_loaded and self._resume and self._load_from is None:
            self._load_from = find_resumable_checkpoint(self.work_dir,
                                                        self.logger)
            if self._load_from is None:
                self.logger.info(f'no complete checkpoint to resume in '
                                 f'{self.work_dir}; starting from scratch')
                self._resume = False
        return super().load_or_resume()

    def resume(self, filename: str, *args, **kwargs) -> None:
        self._resuming = True
        try:
            return super().resume(filename, *args, **kwargs)
        finally:
            self._resuming = False

    def load_checkpoint(self, filename: str, map_location='cpu',
                        strict: bool = False,
                        revise_keys: list = [(r'^module.', '')]):
        checkpoint = read_checked_checkpoint(filename, map_location)
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        if self._resuming:
            self._check_resumable(checkpoint, filename)
        elif self.strict_load:
            check_fits(bare(self.model), checkpoint, filename)
        checkpoint = _load_checkpoint_to_model(
            bare(self.model), checkpoint, strict, revise_keys=revise_keys)
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint

    def _check_resumable(self, checkpoint, filename: str) -> None:
        how = (f'to start a new run from its weights, use --cfg-options '
               f'load_from={filename} without --resume')
        checkpoint = checkpoint if isinstance(checkpoint, dict) else {}
        meta = checkpoint.get('meta')
        meta = meta if isinstance(meta, dict) else {}
        missing = [k for k in ('meta', 'message_hub') if k not in checkpoint]
        missing += [f'meta.{k}' for k in ('epoch', 'iter')
                    if 'meta' in checkpoint and k not in meta]
        if missing:
            raise CheckpointError(
                f'cannot resume from {filename}: it holds weights only, '
                f'not a training state (no {", ".join(missing)}); {how}')
        try:
            check_fits(bare(self.model), checkpoint, filename)
        except CheckpointError as err:
            raise CheckpointError(
                f'cannot resume: the model of this config differs from the '
                f'one that wrote the checkpoint. {err}\n{how} (keys that '
                'fit are loaded, the rest start fresh)') from None
        if 'optimizer' in checkpoint:
            self.optim_wrapper = self.build_optim_wrapper(self.optim_wrapper)
            saved = checkpoint['optimizer']
            diff = optimizer_differences(
                self.optim_wrapper.state_dict(), saved) if isinstance(
                    saved, dict) else ['the checkpoint\'s optimizer state is '
                                       f'a {type(saved).__name__}']
            if diff:
                raise CheckpointError(
                    f'cannot resume from {filename}: the optimizer of this '
                    f'config ({type(self.optim_wrapper.optimizer).__name__}'
                    ') differs from the one that wrote it:\n  ' +
                    '\n  '.join(diff) + f'\n{how} (the optimizer then '
                    'starts fresh)')
        if meta.get('world_size', get_world_size()) != get_world_size():
            self.logger.warning(
                f'{filename} was written by a run with {meta["world_size"]} '
                f'processes; this run has {get_world_size()}: the total '
                'batch size, and with it the effective learning rate, '
                'changes (use --auto-scale-lr to scale the learning rate)')
