# Copyright (c) simdr_ext contributors. All rights reserved.
"""Let ``torch.load(weights_only=True)`` read mmengine checkpoints.

Since torch 2.6 ``torch.load`` defaults to ``weights_only=True``; mmengine
0.10.7 calls it without ``weights_only``, so resuming or testing its own
checkpoints fails. Instead of turning the check off, the plain-data types
mmengine and mmpose write are allow-listed: numpy arrays, dtypes and
scalars, and the message hub's ``HistoryBuffer``. Two builtins they pickle
are bound to restricted stand-ins, never allowed themselves:
``builtins.getattr`` (``HistoryBuffer`` pickles its statistics methods as
``getattr(HistoryBuffer, 'mean')``; the real one would let a crafted file
walk from any allowed object to ``os.system``) and ``builtins.bytes``
(protocol 2 writes empty bytes, e.g. of an empty numpy array, as
``bytes()``).
"""
import pickle
from typing import Any, Callable, List, Tuple, Union

import numpy as np
import torch

SafeGlobal = Union[Callable, Tuple[Callable, str]]


def history_buffer_getattr(obj: Any, name: str) -> Any:
    """``getattr(obj, name)`` for ``obj`` the ``HistoryBuffer`` class and
    ``name`` a statistics method registered on it; refused otherwise."""
    from mmengine.logging.history_buffer import HistoryBuffer
    if obj is HistoryBuffer and isinstance(name, str) and (
            name in HistoryBuffer._statistics_methods
            or name in ('min', 'max', 'current', 'mean')):
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'refused getattr({obj!r}, {name!r}) while loading a checkpoint: '
        'only HistoryBuffer statistics methods are allowed')


def empty_bytes(*args: Any) -> bytes:
    """``bytes()`` or ``bytes(<bytes>)``, what pickle protocol 2 writes;
    anything else (e.g. ``bytes(10**12)``) is refused."""
    if not args:
        return b''
    if len(args) == 1 and isinstance(args[0], (bytes, bytearray)):
        return bytes(args[0])
    raise pickle.UnpicklingError(
        f'refused bytes{args!r} while loading a checkpoint: only bytes() '
        'and bytes(<bytes>) are allowed')


def mmengine_checkpoint_globals() -> List[SafeGlobal]:
    """The globals an mmengine/mmpose checkpoint pickles, made safe, for
    ``torch.serialization.add_safe_globals``."""
    from mmengine.logging.history_buffer import HistoryBuffer
    from numpy.core.multiarray import _reconstruct, scalar

    # numpy 1.x pickles these as numpy.core.multiarray.*, numpy 2.x as
    # numpy._core.multiarray.*: a checkpoint may come from either
    numpy_helpers = [(fn, f'{module}.multiarray.{fn.__name__}')
                     for fn in (_reconstruct, scalar)
                     for module in ('numpy.core', 'numpy._core')]
    # numpy's own dtype classes only: packages imported later (ml_dtypes,
    # which onnx imports) add theirs to np.sctypeDict, and the list must
    # not depend on what was imported first
    dtype_classes = sorted({type(np.dtype(t))
                            for t in np.sctypeDict.values()
                            if type(np.dtype(t)).__module__ == 'numpy.dtypes'},
                           key=lambda c: c.__name__)
    return [
        HistoryBuffer, np.ndarray, np.dtype,
        (history_buffer_getattr, 'builtins.getattr'),
        (empty_bytes, 'builtins.bytes')
    ] + numpy_helpers + dtype_classes


def allow_mmengine_checkpoints() -> None:
    """Allow-list :func:`mmengine_checkpoint_globals` for ``torch.load``."""
    torch.serialization.add_safe_globals(mmengine_checkpoint_globals())
