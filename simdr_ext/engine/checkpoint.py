# Copyright (c) simdr_ext contributors. All rights reserved.
"""Checkpoints that survive a kill at any instant and load only when sound.

Writing (:class:`SafeCheckpointHook`, :func:`atomic_write_text`):

1. the new checkpoint goes to ``NAME.tmp``, is flushed to disk (``fsync``)
   and renamed to ``NAME``;
2. only then is ``last_checkpoint`` replaced, again through a flushed
   temporary file and a rename;
3. only then are checkpoints beyond ``max_keep_ckpts`` deleted.

A kill between any two steps leaves the previous checkpoint and a
``last_checkpoint`` that names a complete file.
:func:`find_resumable_checkpoint` still copes with work dirs written by
mmengine's own hook (empty ``last_checkpoint``, or one naming a deleted file).

Reading (:func:`read_checked_checkpoint`): the zip records' CRC-32 (torch's
reader checks none), the weights' SHA-256 recorded by simdr_ext when it
saved, finiteness of every floating-point tensor. Loading into a model
(:func:`check_fits`) also refuses missing, unexpected or mis-shaped keys and
integer tensors where the model holds floating-point ones.
"""
import glob
import hashlib
import os
import os.path as osp
import pickle
import re
import socket
import zipfile
from typing import Dict, List, Optional

import torch
from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook

from mmpose.registry import HOOKS

DIGEST_KEY = 'weights_sha256'
LOCK_NAME = '.simdr_ext.lock'


class CheckpointError(ValueError):
    """A checkpoint that must not be loaded; the message says why."""


def fsync_dir(path: str) -> None:
    """Flush a directory entry (a rename) to disk where the OS allows."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def fsync_file(path: str) -> None:
    """Flush a written file's data to disk."""
    with open(path, 'rb+') as f:
        os.fsync(f.fileno())


def atomic_write_text(path: str, text: str) -> None:
    """Replace ``path`` with ``text`` so that a kill leaves old or new.

    Args:
        path (str): The file.
        text (str): Its new content.
    """
    tmp = f'{path}.tmp'
    try:
        with open(tmp, 'w') as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        remove_quietly(tmp)
        raise
    fsync_dir(osp.dirname(osp.abspath(path)))


def remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


def weights_digest(state_dict: Dict) -> str:
    """SHA-256 over the names, dtypes, shapes and bytes of a state dict.

    Args:
        state_dict (dict): Name to tensor (non-tensors are skipped).

    Returns:
        str: Hex digest.
    """
    sha = hashlib.sha256()
    for name in sorted(state_dict):
        value = state_dict[name]
        if not isinstance(value, torch.Tensor):
            continue
        t = value.detach().cpu().contiguous()
        sha.update(f'{name}|{t.dtype}|{tuple(t.shape)}|'.encode())
        if t.numel():
            sha.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return sha.hexdigest()


def verify_zip(filename: str) -> None:
    """Check every record of a torch zip checkpoint against its CRC-32.

    torch's zip reader checks no CRC, so a flipped bit loads silently.

    Args:
        filename (str): A checkpoint in torch's zip format (others pass).
    """
    if not zipfile.is_zipfile(filename):
        return
    try:
        with zipfile.ZipFile(filename) as zf:
            bad = zf.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
        raise CheckpointError(
            f'{filename} is corrupt (its zip structure is damaged: {err}); '
            'use another checkpoint') from None
    if bad is not None:
        raise CheckpointError(
            f'{filename} is corrupt: record {bad} fails its CRC-32 check '
            '(the file changed after it was written); use another '
            'checkpoint')


def state_dict_of(checkpoint) -> Dict:
    """The state dict of a loaded checkpoint, ``module.`` prefixes
    stripped."""
    state = checkpoint.get('state_dict', checkpoint) \
        if isinstance(checkpoint, dict) else {}
    return {
        k[len('module.'):] if k.startswith('module.') else k: v
        for k, v in state.items()
    }


def check_content(checkpoint, filename: str) -> None:
    """Refuse a checkpoint whose weights are not what was saved, or not
    finite.

    Args:
        checkpoint (dict): The loaded checkpoint.
        filename (str): Its file, for the messages.
    """
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    raw = checkpoint.get('state_dict', checkpoint) \
        if isinstance(checkpoint, dict) else {}
    recorded = meta.get(DIGEST_KEY) if isinstance(meta, dict) else None
    if recorded is not None and weights_digest(raw) != recorded:
        raise CheckpointError(
            f'{filename} is corrupt: the SHA-256 of its weights differs from '
            'the one recorded when it was saved; use another checkpoint')
    bad = []
    for name, value in raw.items():
        if isinstance(value, torch.Tensor) and (
                value.is_floating_point() or value.is_complex()):
            n = int((~torch.isfinite(value)).sum())
            if n:
                bad.append(f'{name} ({n} of {value.numel()})')
    if bad:
        shown = ', '.join(bad[:10]) + (
            f' and {len(bad) - 10} more' if len(bad) > 10 else '')
        raise CheckpointError(
            f'{filename} holds NaN or inf weights: {shown}; the run that '
            'wrote it diverged: resume from an earlier checkpoint or lower '
            'the learning rate')


def read_checked_checkpoint(filename: str, map_location='cpu'):
    """Load a checkpoint with ``weights_only=True`` after checking its CRCs,
    then check its recorded SHA-256 and its finiteness.

    Args:
        filename (str): Local file, or anything mmengine's loader accepts
            (URLs are loaded by mmengine and content-checked only).
        map_location: As for ``torch.load``. Defaults to ``'cpu'``.

    Returns:
        dict: The checkpoint.
    """
    from mmengine.runner.checkpoint import _load_checkpoint
    if osp.isfile(filename):
        verify_zip(filename)
    try:
        checkpoint = _load_checkpoint(filename, map_location=map_location)
    except pickle.UnpicklingError as err:
        from .runner import refused_checkpoint_error
        raise refused_checkpoint_error(filename, err) from None
    except RuntimeError as err:
        if 'zip' in str(err) or 'archive' in str(err):
            raise CheckpointError(
                f'{filename} is truncated or corrupt ({err}); use another '
                'checkpoint') from None
        raise
    check_content(checkpoint, filename)
    return checkpoint


def state_dict_differences(model_state: Dict, ckpt_state: Dict) -> List[str]:
    """What keeps a checkpoint from loading into a model, one line a key.

    Args:
        model_state (dict): The model's ``state_dict()``.
        ckpt_state (dict): The checkpoint's state dict (prefixes such as
            ``module.`` already stripped).

    Returns:
        list[str]: Lines ``missing: key``, ``unexpected: key``,
        ``shape: key checkpoint (a, b) vs model (c, d)`` and
        ``dtype: key checkpoint torch.int64 vs model torch.float32`` (an
        integer or boolean tensor where the model holds floating-point
        values, or the reverse); empty when the checkpoint fits.
    """
    lines = [f'missing: {k}' for k in model_state if k not in ckpt_state]
    lines += [f'unexpected: {k}' for k in ckpt_state if k not in model_state]
    for k, v in ckpt_state.items():
        if k not in model_state or not hasattr(v, 'shape'):
            continue
        m = model_state[k]
        if tuple(v.shape) != tuple(m.shape):
            lines.append(f'shape: {k} checkpoint {tuple(v.shape)} vs model '
                         f'{tuple(m.shape)}')
        elif isinstance(v, torch.Tensor) and isinstance(m, torch.Tensor) \
                and v.is_floating_point() != m.is_floating_point():
            lines.append(f'dtype: {k} checkpoint {v.dtype} vs model '
                         f'{m.dtype}')
    return lines


def check_fits(model: torch.nn.Module, checkpoint, filename: str) -> None:
    """Raise :class:`CheckpointError` listing every key that differs."""
    diff = state_dict_differences(model.state_dict(),
                                  state_dict_of(checkpoint))
    if diff:
        shown = '\n  '.join(diff[:20])
        more = f'\n  ... and {len(diff) - 20} more' if len(diff) > 20 \
            else ''
        raise CheckpointError(
            f'{filename} does not fit this model ({len(diff)} keys '
            f'differ); is it a checkpoint of another architecture?\n  '
            f'{shown}{more}')


def load_checked_checkpoint(model: torch.nn.Module,
                            filename: Optional[str],
                            map_location='cpu') -> Optional[dict]:
    """Load a checkpoint into a model, refusing anything unsound.

    Checks CRCs, the recorded SHA-256 of the weights, finiteness, and that
    keys, shapes and dtypes fit the model exactly; then loads the weights
    and, when the checkpoint records ``meta.dataset_meta``, sets
    ``model.dataset_meta`` from it (as mmpose's ``init_model`` does).

    Args:
        model (nn.Module): The model (e.g. from ``init_model(cfg, None)``).
        filename (str, optional): The checkpoint; ``None`` does nothing.
        map_location: As for ``torch.load``. Defaults to ``'cpu'``.

    Returns:
        dict or None: The checkpoint.
    """
    if filename is None:
        return None
    checkpoint = read_checked_checkpoint(filename, map_location)
    check_fits(model, checkpoint, filename)
    model.load_state_dict(state_dict_of(checkpoint), strict=True)
    meta = checkpoint.get('meta') or {}
    if isinstance(meta, dict) and 'dataset_meta' in meta:
        model.dataset_meta = meta['dataset_meta']
    return checkpoint


CKPT_NAME = re.compile(r'^(?:epoch|iter)_(\d+)\.pth$')


def _is_complete(path: str) -> bool:
    if not osp.isfile(path) or osp.getsize(path) == 0:
        return False
    if not zipfile.is_zipfile(path):
        return False
    try:
        with zipfile.ZipFile(path) as zf:
            return zf.testzip() is None
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        return False


def find_resumable_checkpoint(work_dir: str, logger=None) -> Optional[str]:
    """The checkpoint ``--resume`` without a path continues from.

    ``last_checkpoint`` when it names a complete file; otherwise (empty,
    missing, or naming a deleted or damaged file) the newest complete
    ``epoch_N.pth`` / ``iter_N.pth`` in ``work_dir``.

    Args:
        work_dir (str): The run's work directory.
        logger (optional): Where to say that the fallback was taken.

    Returns:
        str or None: The checkpoint, or ``None`` when there is none.
    """
    save_file = osp.join(work_dir, 'last_checkpoint')
    named = None
    if osp.isfile(save_file):
        with open(save_file) as f:
            named = f.read().strip() or None
    if named is not None and _is_complete(named):
        return named
    candidates = []
    for path in glob.glob(osp.join(glob.escape(work_dir), '*.pth')):
        m = CKPT_NAME.match(osp.basename(path))
        if m:
            candidates.append((osp.basename(path).startswith('iter'),
                               int(m.group(1)), path))
    # epoch and iter checkpoints are not mixed in one run: the larger
    # number of the kind present is the newest
    for _, _, path in sorted(candidates, reverse=True):
        if _is_complete(path):
            if logger is not None:
                why = ('is empty' if named is None and
                       osp.isfile(save_file) else
                       'is missing' if named is None else
                       f'names {named}, which is missing or incomplete')
                logger.warning(f'{save_file} {why}; resuming from the '
                               f'newest complete checkpoint {path}')
            return path
    return None


@HOOKS.register_module()
class SafeCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook`` with a crash-safe order.

    mmengine 0.10.7 deletes the checkpoint beyond ``max_keep_ckpts`` before
    it writes the new one, and writes ``last_checkpoint`` in place: with
    ``max_keep_ckpts=1`` a kill while saving left no checkpoint at all and a
    ``last_checkpoint`` naming a deleted (or no) file. Here the new file is
    complete and flushed first, ``last_checkpoint`` is replaced atomically
    next, and old checkpoints are deleted last.
    """

    def _save_checkpoint_with_step(self, runner, step, meta):
        outdated = []
        if self.max_keep_ckpts > 0 and not (
                len(self.keep_ckpt_ids) > 0
                and self.keep_ckpt_ids[-1] == step):
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
            self.out_dir,
            ckpt_filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)
        if not is_main_process():
            return
        atomic_write_text(
            osp.join(runner.work_dir, 'last_checkpoint'), self.last_ckpt)
        for old in outdated:
            path = self.file_backend.join_path(self.out_dir,
                                               self.filename_tmpl.format(old))
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif self.file_backend.isdir(path):
                self.file_backend.rmtree(path)


class WorkDirLock:
    """One training run per work directory.

    ``<work_dir>/.simdr_ext.lock`` holds ``host pid``. A second run while
    that process lives is refused; the lock of a dead process on this host
    is taken over. Taking the lock also removes partial ``*.tmp`` files
    that a killed or disk-full run left behind.

    Args:
        work_dir (str): The run's work directory (created if needed).
    """

    def __init__(self, work_dir: str) -> None:
        self.work_dir = work_dir
        self.path = osp.join(work_dir, LOCK_NAME)
        self.owned = False

    def _owner(self):
        try:
            with open(self.path) as f:
                host, pid = f.read().split()
            return host, int(pid)
        except (OSError, ValueError):
            return None

    @staticmethod
    def _alive(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def acquire(self) -> 'WorkDirLock':
        os.makedirs(self.work_dir, exist_ok=True)
        me = f'{socket.gethostname()} {os.getpid()}\n'
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                owner = self._owner()
                if owner is not None and (owner[0] != socket.gethostname()
                                          or self._alive(owner[1])):
                    raise RuntimeError(
                        f'{self.work_dir} is in use by another training run '
                        f'(pid {owner[1]} on {owner[0]}, lock file '
                        f'{self.path}); give this run another --work-dir, '
                        'or wait for that run to end (delete the lock file '
                        'only if that process is gone)') from None
                remove_quietly(self.path)  # a dead owner's lock
                continue
            with os.fdopen(fd, 'w') as f:
                f.write(me)
            self.owned = True
            self._remove_partial_files()
            return self
        raise RuntimeError(f'could not take the lock {self.path}')

    def _remove_partial_files(self) -> None:
        for pattern in ('*.pth.tmp', 'last_checkpoint.tmp'):
            for path in glob.glob(
                    osp.join(glob.escape(self.work_dir), pattern)):
                remove_quietly(path)

    def release(self) -> None:
        if self.owned:
            owner = self._owner()
            if owner == (socket.gethostname(), os.getpid()):
                remove_quietly(self.path)
            self.owned = False

    def __enter__(self) -> 'WorkDirLock':
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
