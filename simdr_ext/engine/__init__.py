# Copyright (c) simdr_ext contributors. All rights reserved.
from .checkpoint import (CheckpointError, SafeCheckpointHook, WorkDirLock,
                         find_resumable_checkpoint, load_checked_checkpoint,
                         read_checked_checkpoint, state_dict_differences,
                         weights_digest)
from .cpu_distributed import CPUDistributedDataParallel, setup_cpu_distributed
from .runner import (CheckedRunner, NonFiniteLossHook,
                     RepresentationCheckHook, optimizer_differences)

__all__ = [
    'CPUDistributedDataParallel', 'CheckedRunner', 'CheckpointError',
    'NonFiniteLossHook', 'RepresentationCheckHook', 'SafeCheckpointHook',
    'WorkDirLock', 'find_resumable_checkpoint', 'load_checked_checkpoint',
    'optimizer_differences', 'read_checked_checkpoint',
    'setup_cpu_distributed', 'state_dict_differences', 'weights_digest'
]
