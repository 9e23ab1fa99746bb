# Copyright (c) simdr_ext contributors. All rights reserved.
"""One function body for numpy arrays and torch tensors: both share the
names the codec maths calls (``where``, ``stack``, ``sign``, ``amax``,
``.clip`` ...), so a function written against :func:`namespace` computes the
same numbers for both, and on tensors stays on their device and exports."""
from types import ModuleType
from typing import Union

import numpy as np
import torch
from torch import Tensor

Array = Union[np.ndarray, Tensor]


def namespace(a: Array) -> ModuleType:
    """``torch`` for a tensor, ``numpy`` for anything else."""
    return torch if isinstance(a, Tensor) else np


def cast(a: Array, dtype: str) -> Array:
    """``a`` as ``'float32'``, ``'float64'`` or ``'int64'``, same kind."""
    if isinstance(a, Tensor):
        return a.to(getattr(torch, dtype))
    return a.astype(dtype)


def host_array(a: Array) -> np.ndarray:
    """``a`` as a numpy array on the host, for decoding: a tensor is
    detached and copied; floats narrower than 32 bits (``bfloat16``, which
    numpy has no type for, and ``float16``) become float32, so decoding is
    in float32 (or float64) whatever precision the model ran in.

    Args:
        a (np.ndarray | Tensor): Model outputs of any shape.

    Returns:
        np.ndarray: The same values, same shape.
    """
    if isinstance(a, Tensor):
        a = a.detach()
        if a.is_floating_point() and a.dtype != torch.float64:
            a = a.float()
        return a.cpu().numpy()
    a = np.asarray(a)
    if a.dtype.kind == 'f' and a.dtype.itemsize < 4:
        a = a.astype(np.float32)
    return a


def arange(n: int, like: Array) -> Array:
    """``[0, n)`` as int64, on the device of ``like`` for a tensor (``n``
    may be a traced size: the count stays dynamic in ONNX export)."""
    if isinstance(like, Tensor):
        return torch.arange(n, device=like.device)
    return np.arange(n)
