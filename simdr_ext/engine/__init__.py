# Copyright (c) simdr_ext contributors. All rights reserved.
from .cpu_distributed import CPUDistributedDataParallel, setup_cpu_distributed
from .runner import (KeypointCountCheckHook, SimDRRunner,
                     state_dict_differences)

__all__ = [
    'CPUDistributedDataParallel', 'setup_cpu_distributed',
    'KeypointCountCheckHook', 'SimDRRunner', 'state_dict_differences'
]
