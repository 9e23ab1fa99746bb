# Copyright (c) simdr_ext contributors. All rights reserved.
"""The one way a checkpoint is read, whatever its name or caller.

mmengine hands every checkpoint name to a loader chosen by its prefix
(``mmengine.runner.CheckpointLoader``). Every route goes through that
table: ``Runner.load_checkpoint`` and ``Runner.resume`` (``load_from``,
``--resume``), ``init_cfg=dict(type='Pretrained')``, mmengine's
``load_checkpoint`` / ``_load_checkpoint`` (mmpose's ``init_model``, mmdet's
``init_detector``, mmengine's inferencers, ``CheckpointHook._publish_model``)
and this package's :func:`~.checkpoint.read_checked_checkpoint`. mmengine's
own loaders unpickle ``http(s)://``, ``torchvision://``, ``modelzoo://``,
``open-mmlab://``, ``openmmlab://`` and ``mmcls://`` names through
``torch.hub.load_state_dict_from_url``, whose ``weights_only`` defaults to
``False`` (a file already in the hub cache is read the same way, with no
network), and ``Runner.resume`` executes the config text stored in a
checkpoint (``Config.fromstring(meta['config'])``).

:func:`install` (run by ``import simdr_ext``) replaces every entry of the
table, so that each name is

1. resolved to a local file: a path as it is; a URL through the torch hub
   cache (``<hub dir>/checkpoints/<file name>``, downloaded there if
   missing); ``torchvision://`` and the OpenMMLab names through mmengine's
   name tables; ``s3://`` names are read as bytes; ``pavi://`` is refused;
2. refused if it is a zip whose records are compressed, or declare more
   bytes than the file holds (nothing is inflated), or fail their CRC-32;
3. unpickled with ``torch.load(weights_only=True)``, whose allow-list is
   :func:`simdr_ext.utils.safe_load.mmengine_checkpoint_globals`;
4. refused if a tensor is not a plain strided tensor or claims more
   elements than its storage holds (an expanded view would make any later
   ``isfinite`` or hash allocate its full size);
5. stripped of config text (``meta['cfg']``, ``meta['config']``, the
   message hub's ``runtime_info['cfg']``): it is Python source, which
   mmengine executes when it finds it. Nothing else is changed.
"""
import io
import os
import os.path as osp
import pickle
import zipfile
from typing import Any, Callable, Dict, List, Optional, Union
from urllib.parse import urlparse

import torch
from mmengine.dist import get_dist_info
from mmengine.runner.checkpoint import (CheckpointLoader,
                                        _process_mmcls_checkpoint,
                                        get_deprecated_model_names,
                                        get_external_models,
                                        get_mmcls_models,
                                        get_torchvision_models)

from ..utils.safe_load import allow_mmengine_checkpoints

# config text a checkpoint may carry: mmengine executes it
CODE_KEYS = ('cfg', 'config')

Source = Union[str, bytes]


class CheckpointError(ValueError):
    """A checkpoint that must not be loaded; the message says why."""


def zip_problem(source: Source, name: Optional[str] = None) -> str:
    """Why a torch zip checkpoint must not be read, or ``''``.

    Refused, before anything is inflated: a record stored compressed
    (``torch.save`` stores every record as it is), declared sizes that add
    up to more than the file, a damaged zip structure; then each record's
    CRC-32 (torch's reader checks none). Files that are not zips (torch's
    legacy format) pass.

    Args:
        source (str | bytes): A local file or its content.
        name (str, optional): The file's name in messages.

    Returns:
        str: The reason, or ``''``.
    """
    handle = io.BytesIO(source) if isinstance(source, bytes) else source
    if not zipfile.is_zipfile(handle):
        return ''
    size = len(source) if isinstance(source, bytes) else osp.getsize(source)
    try:
        with zipfile.ZipFile(handle) as zf:
            infos = zf.infolist()
            packed = [i.filename for i in infos
                      if i.compress_type != zipfile.ZIP_STORED]
            if packed:
                return (f'{len(packed)} record(s) are compressed (e.g. '
                        f'{packed[0]}); torch.save stores records '
                        'uncompressed, and inflating them is refused')
            declared = sum(i.file_size for i in infos)
            if declared > size or any(i.compress_size != i.file_size
                                      for i in infos):
                return (f'its records declare {declared} bytes, more than '
                        f'the {size} bytes of the file')
            bad = zf.testzip()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError,
            ValueError, NotImplementedError) as err:
        return f'its zip structure is damaged ({err})'
    return '' if bad is None else f'record {bad} fails its CRC-32 check ' \
        '(the file changed after it was written)'


def walk(obj: Any) -> List[Any]:
    """Every value inside nested dicts, lists and tuples (iteratively: a
    crafted file may nest deeper than Python's recursion limit)."""
    found, stack, seen = [], [obj], set()
    while stack:
        item = stack.pop()
        if isinstance(item, (dict, list, tuple)):
            if id(item) in seen:
                continue
            seen.add(id(item))
            stack.extend(item.values() if isinstance(item, dict) else item)
        else:
            found.append(item)
    return found


def tensor_problem(t: torch.Tensor) -> str:
    """Why a loaded tensor is refused, or ``''``: a layout other than
    strided, or more elements than its storage holds (an expanded or
    overlapping view)."""
    if t.layout != torch.strided:
        return f'a {t.layout} tensor (only dense tensors are loaded)'
    nbytes = t.numel() * t.element_size()
    if nbytes > t.untyped_storage().nbytes():
        return (f'a tensor of shape {tuple(t.shape)} ({nbytes} bytes) '
                f'viewing {t.untyped_storage().nbytes()} stored bytes')
    return ''


def strip_code(checkpoint: Any) -> Any:
    """``checkpoint`` without the config text of :data:`CODE_KEYS` in
    ``meta`` and in the message hub's ``runtime_info`` (in place)."""
    if not isinstance(checkpoint, dict):
        return checkpoint
    hub = checkpoint.get('message_hub')
    for holder in (checkpoint.get('meta'),
                   hub.get('runtime_info') if isinstance(hub, dict) else None):
        if isinstance(holder, dict):
            for key in CODE_KEYS:
                holder.pop(key, None)
    return checkpoint


def torch_load_checked(source: Source, map_location=None,
                       name: Optional[str] = None) -> Any:
    """Read a checkpoint by steps 2-5 of the module.

    Args:
        source (str | bytes): A local file or its content.
        map_location: As ``torch.load``'s.
        name (str, optional): The checkpoint's name in messages (the URL
            of a downloaded file). Defaults to ``source``.

    Returns:
        Any: The checkpoint, usually a dict.
    """
    name = name or (source if isinstance(source, str) else '<bytes>')
    if isinstance(source, str) and not osp.isfile(source):
        raise FileNotFoundError(f'checkpoint {name} does not exist')
    why = zip_problem(source)
    if why:
        raise CheckpointError(f'{name} is refused: {why}; use another '
                              'checkpoint')
    allow_mmengine_checkpoints()
    handle = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        checkpoint = torch.load(handle, map_location=map_location,
                                weights_only=True)
    except pickle.UnpicklingError as err:
        raise pickle.UnpicklingError(
            f'Refused to load {name}: it contains an object that '
            'torch.load(weights_only=True) does not allow, even with the '
            'mmengine/numpy types simdr_ext allow-lists. Only if you trust '
            'the file, re-save its state dict in a separate, trusted '
            'session (torch.save({"state_dict": torch.load(path, '
            'weights_only=False)["state_dict"]}, new_path)). '
            f'Details: {err}') from None
    except (RuntimeError, EOFError, ValueError) as err:
        raise CheckpointError(f'{name} is truncated or corrupt ({err}); use '
                              'another checkpoint') from None
    bad = [p for p in map(tensor_problem, (
        v for v in walk(checkpoint) if isinstance(v, torch.Tensor))) if p]
    if bad:
        raise CheckpointError(f'{name} is refused: it holds {bad[0]}' + (
            f' and {len(bad) - 1} more such tensors' if len(bad) > 1 else
            ''))
    return strip_code(checkpoint)


def hub_cache_file(url: str) -> str:
    """Where the torch hub cache keeps ``url``'s file (torch.hub's rule)."""
    return osp.join(torch.hub.get_dir(), 'checkpoints',
                    osp.basename(urlparse(url).path))


def fetch_url(url: str) -> str:
    """The hub-cache file of ``url``, downloaded there first if missing
    (by rank 0 first in a distributed run)."""
    cached = hub_cache_file(url)

    def download() -> None:
        if osp.isfile(cached):
            return
        os.makedirs(osp.dirname(cached), exist_ok=True)
        try:
            torch.hub.download_url_to_file(
                url, cached, progress=os.environ.get('LOCAL_RANK', '0') ==
                '0')
        except (OSError, ValueError) as err:
            raise CheckpointError(
                f'cannot download {url} ({err}); without a network, copy the'
                f' file to {cached} or give a local path instead') from None

    rank, world_size = get_dist_info()
    if rank == 0:
        download()
    if world_size > 1:
        torch.distributed.barrier()
        if rank > 0:
            download()
    return cached


def load_from_url_checked(filename: str, map_location=None) -> Any:
    """``http://`` / ``https://``: the hub-cache file, checked."""
    return torch_load_checked(fetch_url(filename), map_location, filename)


def load_from_local_checked(filename: str, map_location=None) -> Any:
    """A local path, checked."""
    return torch_load_checked(osp.expanduser(filename), map_location)


def load_from_torchvision_checked(filename: str, map_location=None) -> Any:
    """``torchvision://NAME`` (``modelzoo://NAME``): mmengine's table of
    torchvision URLs, then :func:`load_from_url_checked`."""
    name = filename.split('://', 1)[1]
    urls = get_torchvision_models()
    if name not in urls:
        raise CheckpointError(f'{filename}: torchvision has no model {name!r}')
    return load_from_url_checked(urls[name], map_location)


def load_from_openmmlab_checked(filename: str, map_location=None) -> Any:
    """``open-mmlab://NAME`` / ``openmmlab://NAME``: mmengine's tables
    (deprecated names mapped), then a URL or a file in mmengine's home."""
    name = filename.split('://', 1)[1]
    name = get_deprecated_model_names().get(name, name)
    urls = get_external_models()
    if name not in urls:
        raise CheckpointError(f'{filename}: no OpenMMLab model {name!r}')
    if urls[name].startswith(('http://', 'https://')):
        return load_from_url_checked(urls[name], map_location)
    from mmengine.runner.checkpoint import _get_mmengine_home
    return torch_load_checked(
        osp.join(_get_mmengine_home(), urls[name]), map_location, filename)


def load_from_mmcls_checked(filename: str, map_location=None) -> Any:
    """``mmcls://NAME``: mmengine's table, then the backbone keys as
    mmengine's own loader renames them."""
    name = filename[len('mmcls://'):]
    urls = get_mmcls_models()
    if name not in urls:
        raise CheckpointError(f'{filename}: no mmcls model {name!r}')
    return _process_mmcls_checkpoint(
        load_from_url_checked(urls[name], map_location))


def load_from_s3_checked(filename: str, map_location=None) -> Any:
    """``s3://`` and ``petrel://`` names (also ``...:s3://``): the bytes
    through mmengine's file backends, checked."""
    from mmengine.fileio import get
    return torch_load_checked(get(filename), map_location, filename)


def load_refused(filename: str, map_location=None) -> Any:
    """``pavi://`` and schemes registered by other packages: refused."""
    raise CheckpointError(
        f'{filename}: this scheme is not read by simdr_ext\'s checked '
        'loader; download the file and give its local path')


LOADERS: Dict[tuple, Callable] = {
    ('', ): load_from_local_checked,
    ('http://', 'https://'): load_from_url_checked,
    ('modelzoo://', 'torchvision://'): load_from_torchvision_checked,
    ('open-mmlab://', 'openmmlab://'): load_from_openmmlab_checked,
    ('mmcls://', ): load_from_mmcls_checked,
    (r'(\S+\:)?s3://', r'(\S+\:)?petrel://'):
    load_from_s3_checked,
    ('pavi://', ): load_refused,
}


def install() -> None:
    """Replace every loader of mmengine's ``CheckpointLoader`` by the
    checked ones; a prefix another package registered is refused."""
    for prefixes, loader in LOADERS.items():
        CheckpointLoader.register_scheme(list(prefixes), loader, force=True)
    checked = set(LOADERS.values())
    for prefix in [p for p, f in CheckpointLoader._schemes.items()
                   if f not in checked and f is not load_refused]:
        CheckpointLoader.register_scheme(prefix, load_refused, force=True)


def installed() -> bool:
    """Whether every registered prefix maps to a checked loader."""
    checked = set(LOADERS.values()) | {load_refused}
    return all(f in checked for f in CheckpointLoader._schemes.values())
