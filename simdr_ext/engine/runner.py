# Copyright (c) simdr_ext contributors. All rights reserved.
import math
import os
import os.path as osp
import pickle
from typing import Dict, Optional

import torch
from mmengine.dist import get_world_size, master_only
from mmengine.hooks import CheckpointHook, Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint_to_model

from mmpose.registry import HOOKS, RUNNERS

from .checkpoint import (DIGEST_KEY, CheckpointError, SafeCheckpointHook,
                         check_fits, find_resumable_checkpoint, fsync_dir,
                         fsync_file, read_checked_checkpoint, remove_quietly,
                         weights_digest)


def refused_checkpoint_error(filename: str,
                             err: Exception) -> pickle.UnpicklingError:
    """A load error that says what was refused and how to proceed."""
    return pickle.UnpicklingError(
        f'Refused to load {filename}: it contains an object that '
        'torch.load(weights_only=True) does not allow, even with the '
        'mmengine/numpy types simdr_ext allow-lists. Only if you trust the '
        'file, re-save its state dict in a trusted session '
        '(torch.save({"state_dict": torch.load(path, weights_only=False)'
        '["state_dict"]}, new_path)) or run once with '
        'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1. Details: ' + str(err))


@HOOKS.register_module()
class KeypointCountCheckHook(Hook):
    """Stops a run whose datasets and head disagree on the keypoint count.

    Without it, a 14-keypoint data set under a 17-keypoint head fails deep
    inside the loss or the metric with an unrelated shape error.
    """

    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        head = getattr(model, 'head', None)
        expected = getattr(head, 'out_channels', None)
        if expected is None:
            return
        for name in ('train', 'val', 'test'):
            loop = getattr(runner, f'_{name}_loop', None)
            loader = getattr(loop, 'dataloader', None)
            meta = getattr(getattr(loader, 'dataset', None), 'metainfo', {})
            count = (meta or {}).get('num_keypoints')
            if count is not None and count != expected:
                raise ValueError(
                    f'the {name} dataset has {count} keypoints '
                    f'({meta.get("dataset_name", "?")}) but the head predicts '
                    f'{expected} (head.out_channels): use a config for this '
                    'data set or set out_channels to match')


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Stops training at the first iteration whose loss is NaN or inf.

    mmengine logs ``loss: nan`` and carries on to exit 0 with useless
    weights. The error names the iteration, the epoch and the losses.
    """

    priority = 'VERY_HIGH'

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        if not isinstance(outputs, dict):
            return
        bad = {}
        for name, value in outputs.items():
            if not name.startswith('loss'):
                continue
            v = float(value.detach().float().mean()) if isinstance(
                value, torch.Tensor) else float(value)
            if not math.isfinite(v):
                bad[name] = v
        if bad:
            losses = ', '.join(f'{k}={v}' for k, v in bad.items())
            raise FloatingPointError(
                f'non-finite loss at iteration {runner.iter + 1} (epoch '
                f'{runner.epoch + 1}, batch {batch_idx + 1}): {losses}; '
                'training stopped. Lower the learning rate, or resume from '
                'a checkpoint written before the loss diverged')


OPTIMIZER_VERSION_KEYS = frozenset({
    'foreach', 'capturable', 'differentiable', 'fused', 'maximize',
    'decoupled_weight_decay', 'initial_lr', 'params'
})


def optimizer_differences(current: Dict, saved: Dict) -> list:
    """How a checkpoint's optimizer state differs from this run's optimizer.

    Args:
        current (dict): ``optimizer.state_dict()`` of this run.
        saved (dict): The checkpoint's ``optimizer`` entry.

    Returns:
        list[str]: One line a difference; empty when they match.
    """
    cur, old = current.get('param_groups', []), saved.get('param_groups', [])
    if len(cur) != len(old):
        return [f'{len(old)} parameter groups in the checkpoint, '
                f'{len(cur)} in this run']
    lines = []
    for i, (c, o) in enumerate(zip(cur, old)):
        ck = set(c) - OPTIMIZER_VERSION_KEYS
        ok = set(o) - OPTIMIZER_VERSION_KEYS
        if ck != ok:
            lines.append(
                f'group {i}: the checkpoint\'s optimizer has settings '
                f'{sorted(ok - ck)}, this run\'s has {sorted(ck - ok)} '
                '(another optimizer type)')
        if len(c.get('params', [])) != len(o.get('params', [])):
            lines.append(
                f'group {i}: {len(o.get("params", []))} parameters in the '
                f'checkpoint, {len(c.get("params", []))} in this run')
    return lines


@RUNNERS.register_module()
class SimDRRunner(Runner):
    """mmengine's ``Runner`` with crash-safe checkpoints and checked loading.

    - Checkpoints are written to ``<name>.tmp``, flushed and renamed;
      :class:`SafeCheckpointHook` (replacing ``CheckpointHook``) then
      replaces ``last_checkpoint`` atomically and only then deletes
      checkpoints beyond ``max_keep_ckpts``. The SHA-256 of the weights and
      the world size are recorded in ``meta``.
    - ``--resume`` without a path falls back to the newest complete
      checkpoint when ``last_checkpoint`` is empty or names a missing file.
    - Loading goes through ``torch.load(weights_only=True)`` (simdr_ext
      allow-lists what mmengine writes) after a CRC check of the zip
      records; the recorded SHA-256 and finiteness are checked, and an
      unsound file raises :class:`~.checkpoint.CheckpointError`.
    - Resuming checks that the file holds training state, fits the model
      exactly and matches the optimizer, and says to use ``load_from``
      otherwise.
    - ``strict_load=True`` (used by testing) turns any missing, unexpected,
      mis-shaped or integer-for-float key into an error that lists them.
    - :class:`KeypointCountCheckHook` checks the data sets against the head;
      :class:`NonFiniteLossHook` stops a run whose loss is NaN or inf.

    ``tools/train.py``, ``tools/test.py`` and ``mim`` use it; mmpose's own
    ``tools/train.py`` does with ``runner_type = 'SimDRRunner'`` in the
    config.
    """

    strict_load = False
    _resuming = False

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.register_hook(KeypointCountCheckHook())
        self.register_hook(NonFiniteLossHook())

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
        model = self.model.module if is_model_wrapper(
            self.model) else self.model
        meta = kwargs.get('meta')
        meta = dict(meta) if isinstance(meta, dict) else {}
        meta[DIGEST_KEY] = weights_digest(model.state_dict())
        meta['world_size'] = get_world_size()
        kwargs['meta'] = meta
        tmp = f'{filename}.tmp'
        tmp_path, path = osp.join(out_dir, tmp), osp.join(out_dir, filename)
        try:
            super().save_checkpoint(out_dir, tmp, *args, **kwargs)
            fsync_file(tmp_path)
        except BaseException:
            # a full disk or an interrupt: never leave a partial file
            remove_quietly(tmp_path)
            raise
        os.replace(tmp_path, path)
        fsync_dir(out_dir)

    def load_or_resume(self) -> None:
        if not self._has_loaded and self._resume and self._load_from is None:
            found = find_resumable_checkpoint(self.work_dir, self.logger)
            if found is None:
                self.logger.info(
                    f'no complete checkpoint to resume in {self.work_dir}; '
                    'starting from scratch')
                self._resume = False
            self._load_from = found
        return super().load_or_resume()

    def resume(self, filename: str, *args, **kwargs) -> None:
        self._resuming = True
        try:
            return super().resume(filename, *args, **kwargs)
        finally:
            self._resuming = False

    def load_checkpoint(self,
                        filename: str,
                        map_location='cpu',
                        strict: bool = False,
                        revise_keys: list = [(r'^module.', '')]):
        checkpoint = read_checked_checkpoint(filename, map_location)
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = self.model.module if is_model_wrapper(
            self.model) else self.model
        if self._resuming:
            self._check_resumable(model, checkpoint, filename)
        elif self.strict_load:
            check_fits(model, checkpoint, filename)
        checkpoint = _load_checkpoint_to_model(
            model, checkpoint, strict, revise_keys=revise_keys)
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint

    def _check_resumable(self, model, checkpoint, filename: str) -> None:
        how = (f'to start a new run from its weights, use --cfg-options '
               f'load_from={filename} without --resume')
        meta = checkpoint.get('meta') if isinstance(checkpoint, dict) \
            else None
        missing = [k for k in ('meta', 'message_hub')
                   if not isinstance(checkpoint, dict) or k not in checkpoint]
        missing += [f'meta.{k}' for k in ('epoch', 'iter')
                    if isinstance(meta, dict) and k not in meta]
        if missing:
            raise CheckpointError(
                f'cannot resume from {filename}: it holds weights only, '
                f'not a training state (no {", ".join(missing)}); {how}')
        try:
            check_fits(model, checkpoint, filename)
        except CheckpointError as err:
            raise CheckpointError(
                f'cannot resume: the model of this config differs from the '
                f'one that wrote the checkpoint. {err}\n{how} (keys that '
                'fit are loaded, the rest start fresh)') from None
        if 'optimizer' in checkpoint:
            self.optim_wrapper = self.build_optim_wrapper(self.optim_wrapper)
            cur = self.optim_wrapper.state_dict()
            saved = checkpoint['optimizer']
            diff = optimizer_differences(cur, saved) if isinstance(
                saved, dict) else ['the checkpoint\'s optimizer state is '
                                   f'a {type(saved).__name__}']
            if diff:
                raise CheckpointError(
                    f'cannot resume from {filename}: the optimizer of this '
                    f'config ({type(self.optim_wrapper.optimizer).__name__}'
                    ') differs from the one that wrote it:\n  ' +
                    '\n  '.join(diff) + f'\n{how} (the optimizer then '
                    'starts fresh)')
        saved_ws = meta.get('world_size')
        if saved_ws is not None and saved_ws != get_world_size():
            self.logger.warning(
                f'{filename} was written by a run with {saved_ws} '
                f'processes; this run has {get_world_size()}: the total '
                'batch size, and with it the effective learning rate, '
                'changes (use --auto-scale-lr to scale the learning rate)')
