# Copyright (c) simdr_ext contributors. All rights reserved.
import inspect
import math
import os.path as osp
from typing import Dict, List, Optional, Sequence

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
# optimizer settings that vary with the torch version, not the optimizer
OPTIMIZER_VERSION_KEYS = frozenset({
    'foreach', 'capturable', 'differentiable', 'fused', 'maximize',
    'decoupled_weight_decay', 'initial_lr', 'params'
})


def bare(model: torch.nn.Module) -> torch.nn.Module:
    return model.module if is_model_wrapper(model) else model


def mismatch(transform, decoder) -> Optional[tuple]:
    """``(argument, transform's value, decoder's value)`` where a
    ``TopdownAffine``'s ``input_size`` or a ``GenerateTarget`` encoder's
    type or non-decoding arguments differ from the decoder's, or ``None``."""
    if isinstance(transform, TopdownAffine):
        pairs = [('input_size', tuple(transform.input_size),
                  tuple(decoder.input_size))]
    elif isinstance(transform, GenerateTarget) and not isinstance(
            transform.encoder, list):
        enc = transform.encoder
        if type(enc) is not type(decoder):
            return 'type', type(enc).__name__, type(decoder).__name__
        pairs = [(n, getattr(enc, n), getattr(decoder, n, None))
                 for n in inspect.signature(type(enc)).parameters
                 if n not in DECODE_ONLY and hasattr(enc, n)]
    else:
        return None
    return next((p for p in pairs if not np.array_equal(
        np.asarray(p[1], object), np.asarray(p[2], object))), None)


def inference_pipeline_problem(cfg) -> Optional[str]:
    """Why the config's test pipeline cannot serve inference, or ``None``.

    mmpose's ``inference_topdown`` (``mmpose/apis/inference.py``) and
    ``MMPoseInferencer`` (``mmpose/apis/inferencers/
    base_mmpose_inferencer.py``, ``_init_pipeline``) build
    ``cfg.test_dataloader.dataset.pipeline`` as the config writes it,
    without the data set, so a ``TopdownAffine`` that only the data set's
    ``codec`` fills (:func:`~simdr_ext.datasets.bind_codec`) trains and
    tests but fails there. A config without a test loader (or one given as
    a built object) has no such pipeline: ``None``.

    Args:
        cfg (Config | dict, optional): The runner's config.

    Returns:
        str, optional: The message, naming the fix.
    """
    loader = cfg.get('test_dataloader') if hasattr(cfg, 'get') else None
    dataset = loader.get('dataset') if isinstance(loader, dict) else None
    pipeline = dataset.get('pipeline') if isinstance(dataset, dict) else None
    for step in pipeline or ():
        name = step.get('type') if isinstance(step, dict) else None
        name = str(getattr(name, '__name__', name)).split('.')[-1]
        if name == 'TopdownAffine' and step.get('input_size') is None:
            return (
                'test_dataloader.dataset.pipeline: TopdownAffine has no '
                'input_size. Training and testing would work (the data '
                'set\'s codec fills it), but mmpose\'s inference_topdown, '
                'MMPoseInferencer and the demo build this pipeline from the '
                'config alone and fail. Write the test loader as '
                'codec_loader(codec, test_pipeline, **dataset) (from '
                'simdr_ext.datasets) or give TopdownAffine '
                "input_size=codec['input_size']")
    return None


@HOOKS.register_module()
class RepresentationCheckHook(Hook):
    """Stops a run whose data and head describe different representations
    (a config that changes ``codec`` in one place would train on one grid
    and decode on another, or fail deep inside the loss or the metric).

    Before training (train and val data), validation and testing, the data
    set's ``num_keypoints`` must equal ``head.out_channels`` and its (and
    its wrapped data sets') pipeline must agree with the head's decoder
    (:func:`mismatch`). Before training, the config's test pipeline must
    also serve inference as written (:func:`inference_pipeline_problem`).
    """

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        problem = inference_pipeline_problem(getattr(runner, 'cfg', None))
        if problem:
            raise ValueError(problem)
        self.check(runner, 'train', 'val')

    def before_val(self, runner) -> None:
        self.check(runner, 'val')

    def before_test(self, runner) -> None:
        self.check(runner, 'test')

    def check(self, runner, *phases: str) -> None:
        head = getattr(bare(runner.model), 'head', None)
        for phase in phases:
            dataset = getattr(getattr(getattr(runner, f'_{phase}_loop', None),
                                      'dataloader', None), 'dataset', None)
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
            stack = [dataset] if hasattr(head, 'decoder') else []
            while stack:  # the data set and those it wraps
                ds = stack.pop()
                stack += list(getattr(ds, 'datasets', [])) + (
                    [ds.dataset] if hasattr(ds, 'dataset') else [])
                for t in getattr(getattr(ds, 'pipeline', None),
                                 'transforms', []):
                    diff = mismatch(t, head.decoder)
                    if diff:
                        raise ValueError(
                            f'the {phase} pipeline\'s {type(t).__name__} has '
                            f'{diff[0]}={diff[1]!r} but model.head.decoder '
                            f'has {diff[0]}={diff[2]!r}: write the codec once '
                            '(codec = dict(...)) and bind the data set and '
                            'head.decoder to it')


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Stops training at the first iteration whose loss is NaN or inf
    (mmengine logs ``loss: nan`` and exits 0 with useless weights)."""

    priority = 'VERY_HIGH'

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        losses = {k: float(torch.as_tensor(v).detach().float().mean())
                  for k, v in (outputs if isinstance(outputs, dict) else {}
                               ).items() if k.startswith('loss')}
        bad = [f'{k}={v}' for k, v in losses.items() if not math.isfinite(v)]
        if bad:
            raise FloatingPointError(
                f'non-finite loss at iteration {runner.iter + 1} (epoch '
                f'{runner.epoch + 1}, batch {batch_idx + 1}): '
                f'{", ".join(bad)}; training stopped. Lower the learning '
                'rate, or resume from a checkpoint written before the loss '
                'diverged')


def optimizer_differences(current: Dict, saved: Dict) -> List[str]:
    """How a checkpoint's ``optimizer`` state differs from this run's."""
    cur, old = current.get('param_groups', []), saved.get('param_groups', [])
    if len(cur) != len(old):
        return [f'{len(old)} parameter groups in the checkpoint, '
                f'{len(cur)} in this run']
    lines = []
    for i, (c, o) in enumerate(zip(cur, old)):
        ck, ok = (set(g) - OPTIMIZER_VERSION_KEYS for g in (c, o))
        nc, no = len(c.get('params', [])), len(o.get('params', []))
        if ck != ok:
            lines.append(f'group {i}: the checkpoint\'s optimizer has '
                         f'settings {sorted(ok - ck)}, this run\'s has '
                         f'{sorted(ck - ok)} (another optimizer type)')
        if nc != no:
            lines.append(f'group {i}: {no} parameters in the checkpoint, '
                         f'{nc} in this run')
    return lines


@RUNNERS.register_module()
class CheckedRunner(Runner):
    """mmengine's ``Runner`` with crash-safe checkpoints and checked loading.

    Saving is atomic and records the weights' SHA-256 and the world size;
    :class:`SafeCheckpointHook` replaces ``CheckpointHook``; ``--resume``
    without a path takes the newest complete checkpoint. Loading is checked
    (:func:`~.checkpoint.read_checked_checkpoint`); resuming needs training
    state, an exact fit and the same optimizer, ``strict_load`` (testing)
    an exact fit. :class:`RepresentationCheckHook` and
    :class:`NonFiniteLossHook` run unless ``custom_hooks`` hold them.
    """

    strict_load = False

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
        kwargs['meta'] = dict(
            kwargs.get('meta') or {}, world_size=get_world_size(),
            **{DIGEST_KEY: weights_digest(bare(self.model).state_dict())})
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

    def load_checkpoint(self, filename: str, map_location='cpu',
                        strict: bool = False,
                        revise_keys: Sequence = ((r'^module.', ''), )):
        checkpoint = read_checked_checkpoint(filename, map_location)
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        if self._resume and not self._has_loaded:  # load_or_resume's resume
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
            diff = optimizer_differences(self.optim_wrapper.state_dict(),
                                         saved if isinstance(saved, dict)
                                         else {})
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
