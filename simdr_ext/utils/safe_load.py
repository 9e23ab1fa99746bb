# Copyright (c) simdr_ext contributors. All rights reserved.
"""Let ``torch.load(weights_only=True)`` read mmengine checkpoints.

Since torch 2.6 ``torch.load`` defaults to ``weights_only=True`` and refuses
any class that is not allow-listed. mmengine 0.10.7 calls ``torch.load``
without ``weights_only``, so resuming or testing its own checkpoints fails.
Instead of turning the check off (``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD``), the
few plain-data types that mmengine and mmpose really write are allow-listed
here: the message hub's ``HistoryBuffer`` and numpy arrays, dtypes and
scalars. Anything else (a pickle that would run code) is still refused.
"""
from typing import List

import numpy as np
import torch


def mmengine_checkpoint_globals() -> List[object]:
    """The classes and functions an mmengine/mmpose checkpoint pickles.

    Returns:
        list: Objects for ``torch.serialization.add_safe_globals``.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    try:  # numpy >= 2 moved the pickled helpers to numpy._core
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:
        from numpy.core.multiarray import _reconstruct, scalar
    dtype_classes = [type(np.dtype(t)) for t in np.sctypeDict.values()]
    return [HistoryBuffer, _reconstruct, scalar, np.ndarray, np.dtype
            ] + sorted(set(dtype_classes), key=lambda c: c.__name__)


def allow_mmengine_checkpoints() -> None:
    """Allow-list :func:`mmengine_checkpoint_globals` for ``torch.load``."""
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is not None:  # torch < 2.4 has no weights_only allow-list
        add(mmengine_checkpoint_globals())
