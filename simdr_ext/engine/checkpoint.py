# Copyright (c) simdr_ext contributors. All rights reserved.
"""Checkpoints that survive a kill at any instant and load only when sound:
saved atomically in a safe order; read after a CRC-32 check of the zip
records (torch's reader checks none), then checked for the SHA-256 recorded
at saving, finiteness and, loaded into a model, an exact fit."""
import glob
import hashlib
import os
import os.path as osp
import pickle
import re
import socket
import zipfile
from contextlib import suppress
from pathlib import Path
from typing import Callable, Dict, List, Optional

import torch
from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook
from mmengine.runner.checkpoint import _load_checkpoint

from mmpose.registry import HOOKS

DIGEST_KEY = 'weights_sha256'
CKPT_NAME = re.compile(r'^(?:epoch|iter)_(\d+)\.pth$')


class CheckpointError(ValueError):
    """A checkpoint that must not be loaded; the message says why."""


def remove_quietly(path: str) -> None:
    with suppress(OSError):
        os.remove(path)


def atomic_replace(path: str, write: Callable[[str], None]) -> None:
    """``write(tmp)`` the new ``path`` to ``path + '.tmp'``, flush it to
    disk and rename it: a kill or a full disk leaves the old file or the new
    one, never a partial one (the ``.tmp`` is removed on error)."""
    tmp = f'{path}.tmp'
    try:
        write(tmp)
        with open(tmp, 'rb+') as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        remove_quietly(tmp)
        raise
    with suppress(OSError):  # flush the rename too, where the OS allows
        fd = os.open(osp.dirname(osp.abspath(path)), os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def weights_digest(state_dict: Dict) -> str:
    """Hex SHA-256 over the names, dtypes, shapes and bytes of the tensors
    of a state dict (other values are skipped)."""
    sha = hashlib.sha256()
    for name in sorted(state_dict):
        t = state_dict[name]
        if isinstance(t, torch.Tensor):
            t = t.detach().cpu().contiguous()
            sha.update(f'{name}|{t.dtype}|{tuple(t.shape)}|'.encode())
            sha.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return sha.hexdigest()


def zip_problem(filename: str) -> str:
    """Why a torch zip checkpoint fails its records' CRC-32 check, or
    ``''`` (files in other formats, and URLs, pass)."""
    if not zipfile.is_zipfile(filename):
        return ''
    try:
        with zipfile.ZipFile(filename) as zf:
            bad = zf.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
        return f'its zip structure is damaged ({err})'
    return '' if bad is None else f'record {bad} fails its CRC-32 check ' \
        '(the file changed after it was written)'


def listed(lines: List[str], most: int, sep: str = ', ') -> str:
    """At most ``most`` lines joined, and how many more there are."""
    more = len(lines) - most
    return sep.join(lines[:most]) + (f'{sep}... and {more} more'
                                     if more > 0 else '')


def read_checked_checkpoint(filename: str, map_location='cpu'):
    """A checkpoint loaded with ``weights_only=True`` after the CRC check
    (local files; URLs are content-checked only), checked for its recorded
    SHA-256 and finiteness."""
    why = zip_problem(filename)
    if why:
        raise CheckpointError(f'{filename} is corrupt: {why}; use another '
                              'checkpoint')
    try:
        checkpoint = _load_checkpoint(filename, map_location=map_location)
    except pickle.UnpicklingError as err:
        raise pickle.UnpicklingError(
            f'Refused to load {filename}: it contains an object that '
            'torch.load(weights_only=True) does not allow, even with the '
            'mmengine/numpy types simdr_ext allow-lists. Only if you trust '
            'the file, re-save its state dict in a trusted session '
            '(torch.save({"state_dict": torch.load(path, weights_only=False)'
            '["state_dict"]}, new_path)) or run once with '
            f'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1. Details: {err}') from None
    except RuntimeError as err:
        if 'zip' not in str(err) and 'archive' not in str(err):
            raise
        raise CheckpointError(f'{filename} is truncated or corrupt ({err}); '
                              'use another checkpoint') from None
    ckpt = checkpoint if isinstance(checkpoint, dict) else {}
    raw, meta = ckpt.get('state_dict', ckpt), ckpt.get('meta')
    recorded = meta.get(DIGEST_KEY) if isinstance(meta, dict) else None
    if recorded is not None and weights_digest(raw) != recorded:
        raise CheckpointError(
            f'{filename} is corrupt: the SHA-256 of its weights differs from '
            'the one recorded when it was saved; use another checkpoint')
    bad = [f'{k} ({int((~torch.isfinite(v)).sum())} of {v.numel()})'
           for k, v in raw.items() if isinstance(v, torch.Tensor) and (
               v.is_floating_point() or v.is_complex())
           and not torch.isfinite(v).all()]
    if bad:
        raise CheckpointError(
            f'{filename} holds NaN or inf weights: {listed(bad, 10)}; the '
            'run that wrote it diverged: resume from an earlier checkpoint '
            'or lower the learning rate')
    return checkpoint


def state_dict_differences(model_state: Dict, ckpt_state: Dict) -> List[str]:
    """What keeps a state dict (``module.`` stripped) from loading into a
    model's: lines ``missing: key``, ``unexpected: key``, ``shape: key
    checkpoint (a, b) vs model (c, d)`` and ``dtype: key checkpoint
    torch.int64 vs model torch.float32`` (integer or boolean for floating
    point, or the reverse); empty when it fits."""
    lines = [f'missing: {k}' for k in model_state if k not in ckpt_state]
    lines += [f'unexpected: {k}' for k in ckpt_state if k not in model_state]
    for k, v in ckpt_state.items():
        m = model_state.get(k)
        if m is None or not hasattr(v, 'shape'):
            continue
        if tuple(v.shape) != tuple(m.shape):
            lines.append(f'shape: {k} checkpoint {tuple(v.shape)} vs model '
                         f'{tuple(m.shape)}')
        elif isinstance(v, torch.Tensor) and isinstance(m, torch.Tensor) \
                and v.is_floating_point() != m.is_floating_point():
            lines.append(f'dtype: {k} checkpoint {v.dtype} vs model '
                         f'{m.dtype}')
    return lines


def check_fits(model: torch.nn.Module, checkpoint, filename: str) -> Dict:
    """The checkpoint's state dict (``module.`` stripped) if it fits the
    model exactly; else :class:`CheckpointError` listing every difference.
    """
    state = checkpoint.get('state_dict', checkpoint) \
        if isinstance(checkpoint, dict) else {}
    state = {k[7:] if k.startswith('module.') else k: v
             for k, v in state.items()}
    diff = state_dict_differences(model.state_dict(), state)
    if diff:
        raise CheckpointError(
            f'{filename} does not fit this model ({len(diff)} keys '
            f'differ); is it a checkpoint of another architecture?\n  ' +
            listed(diff, 20, '\n  '))
    return state


def load_checked_checkpoint(model: torch.nn.Module, filename: Optional[str],
                            map_location='cpu') -> Optional[dict]:
    """Load a checkpoint (``None``: nothing) into a model, refusing
    anything unsound (:func:`read_checked_checkpoint`, :func:`check_fits`);
    ``meta.dataset_meta`` becomes ``model.dataset_meta``, as in mmpose's
    ``init_model``. Returns the checkpoint."""
    if filename is None:
        return None
    checkpoint = read_checked_checkpoint(filename, map_location)
    model.load_state_dict(check_fits(model, checkpoint, filename))
    meta = checkpoint.get('meta') or {}
    if isinstance(meta, dict) and 'dataset_meta' in meta:
        model.dataset_meta = meta['dataset_meta']
    return checkpoint


def is_complete(path: str) -> bool:
    return osp.isfile(path) and zipfile.is_zipfile(path) and not zip_problem(
        path)


def find_resumable_checkpoint(work_dir: str, logger=None) -> Optional[str]:
    """The checkpoint ``--resume`` without a path continues from:
    ``last_checkpoint`` when it names a complete file, else (empty, missing,
    naming a deleted or damaged file) the newest complete ``epoch_N.pth`` /
    ``iter_N.pth`` in ``work_dir`` (said to ``logger``); ``None`` if none.
    """
    save_file = osp.join(work_dir, 'last_checkpoint')
    named = Path(save_file).read_text().strip() if osp.isfile(
        save_file) else None
    if named and is_complete(named):
        return named
    found = [(osp.basename(p).startswith('iter'), int(m.group(1)), p)
             for p in glob.glob(osp.join(glob.escape(work_dir), '*.pth'))
             for m in [CKPT_NAME.match(osp.basename(p))] if m]
    # a run writes epoch or iter checkpoints: the largest number is newest
    path = next((p for *_, p in sorted(found, reverse=True)
                 if is_complete(p)), None)
    if path and logger is not None:
        logger.warning(f'{save_file} names no complete checkpoint ('
                       f'{named or "empty or missing"}); resuming from the '
                       f'newest complete checkpoint {path}')
    return path


@HOOKS.register_module()
class SafeCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook`` in a crash-safe order: the new file,
    then ``last_checkpoint`` (atomically), then the deletion of checkpoints
    beyond ``max_keep_ckpts``. (mmengine 0.10.7 deletes first and writes
    ``last_checkpoint`` in place: a kill while saving with
    ``max_keep_ckpts=1`` left no checkpoint.)"""

    def _save_checkpoint_with_step(self, runner, step, meta):
        outdated = []
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and
                                            self.keep_ckpt_ids[-1] == step):
            while len(self.keep_ckpt_ids) >= self.max_keep_ckpts:
                outdated.append(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))
        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir,
                                                     ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir, ckpt_filename, self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler, meta=meta,
            by_epoch=self.by_epoch, backend_args=self.backend_args,
            **self.args)
        if not is_main_process():
            return
        atomic_replace(osp.join(runner.work_dir, 'last_checkpoint'),
                       lambda tmp: Path(tmp).write_text(self.last_ckpt))
        for old in outdated:
            path = self.file_backend.join_path(self.out_dir,
                                               self.filename_tmpl.format(old))
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif self.file_backend.isdir(path):
                self.file_backend.rmtree(path)


class WorkDirLock:
    """One training run per work directory (created if needed).

    ``<work_dir>/.simdr_ext.lock`` holds ``host pid``: a second run while
    that process lives is refused; a dead process's lock on this host is
    taken over, and partial ``*.tmp`` files of a killed run are removed.
    """

    def __init__(self, work_dir: str) -> None:
        self.work_dir, self.owned = work_dir, False
        self.path = osp.join(work_dir, '.simdr_ext.lock')
        self.me = (socket.gethostname(), os.getpid())

    def holder(self) -> Optional[tuple]:
        """``(host, pid)`` of the lock's holder unless it is a dead process
        of this host."""
        try:
            host, pid = Path(self.path).read_text().split()
            pid = int(pid)
        except (OSError, ValueError):
            return None
        try:
            if host == self.me[0]:
                os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:  # alive, another user's
            pass
        return host, pid

    def acquire(self) -> 'WorkDirLock':
        os.makedirs(self.work_dir, exist_ok=True)
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                holder = self.holder()
                if holder is not None:
                    raise RuntimeError(
                        f'{self.work_dir} is in use by another training run '
                        f'(pid {holder[1]} on {holder[0]}, lock file '
                        f'{self.path}); give this run another --work-dir, '
                        'or wait for that run to end (delete the lock file '
                        'only if that process is gone)') from None
                remove_quietly(self.path)  # a dead process's lock
                continue
            with os.fdopen(fd, 'w') as f:
                f.write('%s %d\n' % self.me)
            self.owned = True
            work = glob.escape(self.work_dir)
            for path in glob.glob(osp.join(work, '*.pth.tmp')) + glob.glob(
                    osp.join(work, 'last_checkpoint.tmp')):
                remove_quietly(path)
            return self
        raise RuntimeError(f'could not take the lock {self.path}')

    def release(self) -> None:
        if self.owned and self.holder() == self.me:
            remove_quietly(self.path)
        self.owned = False

    __enter__ = acquire

    def __exit__(self, *exc) -> None:
        self.release()
