# Copyright (c) simdr_ext contributors. All rights reserved.
"""Let ``torch.load(weights_only=True)`` read mmengine checkpoints.

Since torch 2.6 ``torch.load`` defaults to ``weights_only=True`` and refuses
any global that is not allow-listed. mmengine 0.10.7 calls ``torch.load``
without ``weights_only``, so resuming or testing its own checkpoints fails.
Instead of turning the check off (``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD``), the
plain-data types that mmengine and mmpose really write are allow-listed here:
numpy arrays, dtypes and scalars, and the message hub's ``HistoryBuffer``.

``HistoryBuffer`` pickles its statistics methods as
``getattr(HistoryBuffer, 'mean')``. Allowing ``builtins.getattr`` itself would
let a crafted file walk from any allowed object to ``os.system``; instead the
name ``builtins.getattr`` is bound to :func:`history_buffer_getattr`, which
only returns registered statistics methods of ``HistoryBuffer`` and refuses
everything else.

Pickle protocol 2 (``torch.save``'s default) writes an empty ``bytes`` object
as the call ``builtins.bytes()``; an empty numpy array (``skeleton_info={}``
in 26 of mmpose's data-set files gives one, so does an empty
``HistoryBuffer``) pickles its data that way. The name ``builtins.bytes`` is
bound to :func:`empty_bytes`, which only builds bytes from bytes and cannot
be made to allocate.
"""
import pickle
from typing import Any, Callable, List, Tuple, Union

import numpy as np
import torch

SafeGlobal = Union[Callable, Tuple[Callable, str]]


def history_buffer_getattr(obj: Any, name: str) -> Any:
    """``getattr`` restricted to ``HistoryBuffer``'s statistics methods.

    Args:
        obj (Any): Must be the ``HistoryBuffer`` class.
        name (str): A statistics method registered on it ('min', 'max',
            'current', 'mean' or a custom one).

    Returns:
        Callable: The method.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    if obj is HistoryBuffer and isinstance(name, str) and (
            name in HistoryBuffer._statistics_methods
            or name in ('min', 'max', 'current', 'mean')):
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'refused getattr({obj!r}, {name!r}) while loading a checkpoint: '
        'only HistoryBuffer statistics methods are allowed')


def empty_bytes(*args: Any) -> bytes:
    """``bytes`` restricted to what pickle protocol 2 writes: ``bytes()``.

    Args:
        *args: Nothing, or one ``bytes`` object.

    Returns:
        bytes: ``b''`` or a copy of the argument.
    """
    if not args:
        return b''
    if len(args) == 1 and isinstance(args[0], (bytes, bytearray)):
        return bytes(args[0])
    raise pickle.UnpicklingError(
        f'refused bytes{args!r} while loading a checkpoint: only bytes() '
        'and bytes(<bytes>) are allowed')


def mmengine_checkpoint_globals() -> List[SafeGlobal]:
    """The globals an mmengine/mmpose checkpoint pickles, made safe.

    Returns:
        list: Entries for ``torch.serialization.add_safe_globals``.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    from numpy.core.multiarray import _reconstruct, scalar

    # numpy 1.x pickles these as numpy.core.multiarray.*, numpy 2.x as
    # numpy._core.multiarray.*: a checkpoint may come from either
    numpy_helpers = [(fn, f'{module}.multiarray.{fn.__name__}')
                     for fn in (_reconstruct, scalar)
                     for module in ('numpy.core', 'numpy._core')]
    dtype_classes = sorted({type(np.dtype(t))
                            for t in np.sctypeDict.values()},
                           key=lambda c: c.__name__)
    return [
        HistoryBuffer, np.ndarray, np.dtype,
        (history_buffer_getattr, 'builtins.getattr'),
        (empty_bytes, 'builtins.bytes')
    ] + numpy_helpers + dtype_classes


def allow_mmengine_checkpoints() -> None:
    """Allow-list :func:`mmengine_checkpoint_globals` for ``torch.load``."""
    torch.serialization.add_safe_globals(mmengine_checkpoint_globals())
