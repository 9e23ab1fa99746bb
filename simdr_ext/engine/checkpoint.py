# Copyright (c) simdr_ext contributors. All rights reserved.
"""Checkpoints that survive a kill at any instant and load only when sound:
saved atomically in a safe order; read after a CRC-32 check of the zip
records (torch's reader checks none), then checked for the SHA-256 recorded
at saving, finiteness and, loaded into a model, an exact fit."""
import errno
import fcntl
import glob
import hashlib
import os
import os.path as osp
import re
import secrets
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
from .trusted_load import CheckpointError, install, installed, zip_problem

DIGEST_KEY = 'weights_sha256'
CKPT_NAME = re.compile(r'^(?:epoch|iter)_(\d+)\.pth$')


def remove_quietly(path: str) -> None:
    with suppress(OSError):
        os.remove(path)


def atomic_replace(path: str, write: Callable[[str], None]) -> None:
    """``write(tmp)`` the new ``path`` to a temporary file, flush it to disk
    and rename it over ``path``: a kill or a full disk leaves the old file
    or the new one, never a partial one (the temporary file is removed on
    error).

    The temporary file is created here, exclusively and with a random name
    (``<name>.<random>.tmp`` beside ``path``), so ``write`` never writes
    through a link planted in the folder; the rename replaces a link at
    ``path`` itself, not the file it points to.
    """
    folder, name = osp.split(osp.abspath(path))
    tmp = osp.join(folder, f'{name}.{secrets.token_hex(8)}.tmp')
    os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY |
                     getattr(os, 'O_NOFOLLOW', 0), 0o666))
    try:
        write(tmp)
        with open(tmp, 'rb+') as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        remove_quietly(tmp)
        raise
    with suppress(OSError):  # flush the rename too, where the OS allows
        fd = os.open(folder, os.O_RDONLY)
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


def listed(lines: List[str], most: int, sep: str = ', ') -> str:
    """At most ``most`` lines joined, and how many more there are."""
    more = len(lines) - most
    return sep.join(lines[:most]) + (f'{sep}... and {more} more'
                                     if more > 0 else '')


def read_checked_checkpoint(filename: str, map_location='cpu'):
    """A checkpoint read through mmengine's loader table, which
    :mod:`.trusted_load` checks for every scheme (zip records, CRC-32,
    ``weights_only=True``, tensor views, config text dropped), then checked
    for its recorded SHA-256 and finiteness."""
    if not installed():
        install()
    checkpoint = _load_checkpoint(filename, map_location=map_location)
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


def inside(path: str, folder: str) -> bool:
    """Whether ``path``, links resolved, lies in ``folder`` (resolved)."""
    real, root = osp.realpath(path), osp.realpath(folder)
    return osp.commonpath([real, root]) == root and real != root


def find_resumable_checkpoint(work_dir: str, logger=None) -> Optional[str]:
    """The checkpoint ``--resume`` without a path continues from:
    ``last_checkpoint`` when it names a complete file inside ``work_dir``,
    else (empty, missing, naming a file elsewhere, deleted or damaged) the
    newest complete ``epoch_N.pth`` / ``iter_N.pth`` in ``work_dir`` (said
    to ``logger``); ``None`` if none.
    """
    save_file = osp.join(work_dir, 'last_checkpoint')
    named = Path(save_file).read_text().strip() if osp.isfile(
        save_file) else None
    if named and inside(named, work_dir) and is_complete(named):
        return named
    found = [(osp.basename(p).startswith('iter'), int(m.group(1)), p)
             for p in glob.glob(osp.join(glob.escape(work_dir), '*.pth'))
             for m in [CKPT_NAME.match(osp.basename(p))] if m]
    # a run writes epoch or iter checkpoints: the largest number is newest
    path = next((p for *_, p in sorted(found, reverse=True)
                 if is_complete(p)), None)
    if path and logger is not None:
        logger.warning(f'{save_file} names no complete checkpoint in '
                       f'{work_dir} ({named or "empty or missing"}); '
                       f'resuming from the newest complete checkpoint {path}')
    return path


def own_checkpoint(path, out_dir: str, pattern: str) -> bool:
    """Whether ``path`` may be deleted or published by a run writing to
    ``out_dir``: a string naming a regular file (not a link) directly in
    ``out_dir`` whose name matches ``pattern``."""
    return isinstance(path, str) and osp.dirname(
        osp.abspath(path)) == osp.abspath(out_dir) and re.fullmatch(
            pattern, osp.basename(path)) is not None and not osp.islink(
                path) and inside(path, out_dir)


@HOOKS.register_module()
class SafeCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook`` made crash-safe and blind to paths
    stored in a checkpoint.

    - Order: the new file, then ``last_checkpoint`` (atomically), then the
      deletion of checkpoints beyond ``max_keep_ckpts``; a new best
      checkpoint is written before the previous best is deleted. (mmengine
      0.10.7 deletes first: a kill or a failed write while saving lost the
      only checkpoint, or the best one.)
    - What a resumed message hub says is checked before use: the best
      checkpoint paths (``best_ckpt``, ``best_ckpt_<metric>``) and
      ``last_ckpt`` are kept only when they name a regular file of this
      run's ``out_dir`` with a checkpoint's name, ``keep_ckpt_ids`` only when
      it is a list of integers. Anything else is dropped with a warning, so a
      crafted checkpoint cannot make the run delete other files.
    - Only regular checkpoint files are ever deleted, never folders.
    """

    BEST = r'best_.+_(?:epoch|iter)_\d+\.pth'
    STEP = r'(?:epoch|iter)_\d+\.pth'

    def before_train(self, runner) -> None:
        info = runner.message_hub.runtime_info
        out_dir = self.out_dir or runner.work_dir
        if out_dir != runner.work_dir:  # mmengine appends the run's name
            out_dir = osp.join(out_dir,
                               osp.basename(runner.work_dir.rstrip(osp.sep)))
        dropped = []
        for key in [k for k in info if k == 'best_ckpt'
                    or k.startswith('best_ckpt_') or k == 'last_ckpt']:
            pattern = self.STEP if key == 'last_ckpt' else self.BEST
            if not own_checkpoint(info[key], out_dir, pattern):
                dropped.append(f'{key}={info.pop(key)!r}')
        ids = info.get('keep_ckpt_ids')
        if ids is not None and not (isinstance(ids, list) and all(
                type(i) is int and i >= 0 for i in ids)):
            dropped.append(f'keep_ckpt_ids={info.pop("keep_ckpt_ids")!r}')
        if dropped:
            runner.logger.warning(
                'ignoring what the resumed checkpoint says about files '
                f'outside this run\'s checkpoints in {out_dir}: ' +
                ', '.join(dropped) + ' (no file is deleted for it)')
        super().before_train(runner)

    def _save_best_checkpoint(self, runner, metrics) -> None:
        if not self.save_best:
            return
        single = len(self.key_indicators) == 1
        before = ({'': self.best_ckpt_path} if single else dict(
            self.best_ckpt_path_dict))
        if single:  # mmengine deletes what these name before writing
            self.best_ckpt_path = None
        else:
            self.best_ckpt_path_dict = dict.fromkeys(before)
        try:
            super()._save_best_checkpoint(runner, metrics)
        except BaseException:
            self._restore_best(runner, before, single)
            raise
        for key, old in before.items():
            new = self.best_ckpt_path if single else \
                self.best_ckpt_path_dict[key]
            if new is None:  # not improved: the old best stays
                self._restore_best(runner, {key: old}, single)
            elif old and old != new and is_main_process() and \
                    is_complete(new) and own_checkpoint(
                        old, self.out_dir, self.BEST):
                self.file_backend.remove(old)
                runner.logger.info(f'The previous best checkpoint {old} is '
                                   'removed')

    def _restore_best(self, runner, paths: Dict, single: bool) -> None:
        for key, old in paths.items():
            if single:
                self.best_ckpt_path = old
            else:
                self.best_ckpt_path_dict[key] = old
            name = 'best_ckpt' + (f'_{key}' if key else '')
            if old is not None:
                runner.message_hub.update_info(name, old)

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
            if osp.isfile(path) and not osp.islink(path):
                self.file_backend.remove(path)


class WorkDirLock:
    """One training run per work directory (created if needed).

    The lock is the kernel's (``fcntl.flock`` on
    ``<work_dir>/.simdr_ext.lock``): it is taken atomically and is released
    by the kernel when its process ends, however it ends, so there is no
    stale lock to take over and no race between two runs deciding that a
    lock is stale. The file records ``host pid`` of the holder for the
    message a second run gets, and stays when the run ends. Taking the lock
    removes partial ``*.tmp`` files of a killed run.
    """

    def __init__(self, work_dir: str) -> None:
        self.work_dir, self.owned, self.fd = work_dir, False, None
        self.path = osp.join(work_dir, '.simdr_ext.lock')
        self.me = (socket.gethostname(), os.getpid())

    def holder(self) -> Optional[tuple]:
        """``(host, pid)`` written by the lock's holder, if readable."""
        try:
            host, pid = Path(self.path).read_text().split()
            return host, int(pid)
        except (OSError, ValueError):
            return None

    def acquire(self) -> 'WorkDirLock':
        os.makedirs(self.work_dir, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT |
                     getattr(os, 'O_NOFOLLOW', 0), 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            os.close(fd)
            if err.errno not in (errno.EWOULDBLOCK, errno.EACCES):
                raise
            holder = self.holder()
            who = f'pid {holder[1]} on {holder[0]}' if holder else \
                'another process'
            raise RuntimeError(
                f'{self.work_dir} is in use by another training run ({who}, '
                f'lock file {self.path}); give this run another --work-dir, '
                'or wait for that run to end') from None
        os.ftruncate(fd, 0)
        os.write(fd, ('%s %d\n' % self.me).encode())
        self.fd, self.owned = fd, True
        work = glob.escape(self.work_dir)
        for pattern in ('*.pth.tmp', '*.pth.*.tmp', 'last_checkpoint.tmp',
                        'last_checkpoint.*.tmp'):
            for path in glob.glob(osp.join(work, pattern)):
                if not osp.islink(path):
                    remove_quietly(path)
        return self

    def release(self) -> None:
        if self.fd is not None:
            with suppress(OSError):
                os.ftruncate(self.fd, 0)
            os.close(self.fd)  # the kernel drops the lock
        self.fd, self.owned = None, False

    __enter__ = acquire

    def __exit__(self, *exc) -> None:
        self.release()
