# Copyright (c) simdr_ext contributors. All rights reserved.
from .checkpoint import (CheckpointError, SafeCheckpointHook, WorkDirLock,
                         find_resumable_checkpoint, load_checked_checkpoint,
                         read_checked_checkpoint, state_dict_differences,
                         weights_digest)
from .cpu_distributed import CPUDistributedDataParallel, setup_cpu_distributed
from .runner import (KeypointCountCheckHook, NonFiniteLossHook, SimDRRunner,
                     optimizer_differences)

__all__ = [
    'CPUDistributedDataParallel', 'setup_cpu_distributed',
    'KeypointCountCheckHook', 'NonFiniteLossHook', 'SimDRRunner',
    'state_dict_differences', 'optimizer_differences', 'CheckpointError',
    'SafeCheckpointHook', 'WorkDirLock', 'find_resumable_checkpoint',
    'load_checked_checkpoint', 'read_checked_checkpoint', 'weights_digest'
]
