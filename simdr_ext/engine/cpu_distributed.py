# Copyright (c) simdr_ext contributors. All rights reserved.
"""Distributed training without GPUs (gloo, CPU DDP), where mmengine's
``init_dist`` (``torch.cuda.set_device``) and DDP ``device_ids`` fail."""
import os
import subprocess

import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.model import MMDistributedDataParallel
from mmengine.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class CPUDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` without the ``device_ids`` (and
    ``output_device``) that DDP rejects for a CPU module."""

    def __init__(self, module, device_ids=None, **kwargs) -> None:
        kwargs.pop('output_device', None)
        super().__init__(module=module, device_ids=None, **kwargs)


def require_env(keys: tuple, launcher: str, how: str) -> None:
    missing = [k for k in keys if k not in os.environ]
    if missing:
        raise RuntimeError(
            f'--launcher {launcher} needs the environment that {how[0]} sets '
            f'(missing: {", ".join(missing)}); start the run with {how[1]}')


def slurm_environment() -> None:
    """``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` (first
    host) and ``MASTER_PORT`` (29500) from ``srun``'s, unless set."""
    require_env(('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST'), 'slurm',
                ('srun', 'tools/slurm_train.sh'))
    os.environ.setdefault('RANK', os.environ['SLURM_PROCID'])
    os.environ.setdefault('WORLD_SIZE', os.environ['SLURM_NTASKS'])
    os.environ.setdefault('LOCAL_RANK', os.environ.get('SLURM_LOCALID', '0'))
    os.environ.setdefault('MASTER_PORT', '29500')
    if 'MASTER_ADDR' not in os.environ:
        os.environ['MASTER_ADDR'] = subprocess.run(
            ['scontrol', 'show', 'hostnames', os.environ['SLURM_NODELIST']],
            capture_output=True, text=True, check=True).stdout.split()[0]


def setup_cpu_distributed(cfg: Config) -> bool:
    """Without CUDA, start the gloo group of a ``--launcher pytorch`` or
    ``slurm`` run (mmengine then skips ``init_dist``) and default
    ``model_wrapper_cfg`` to :class:`CPUDistributedDataParallel`; returns
    whether it did."""
    launcher = cfg.get('launcher', 'none')
    if launcher not in ('pytorch', 'slurm') or torch.cuda.is_available():
        return False
    if not dist.is_initialized():
        if launcher == 'slurm':
            slurm_environment()
        require_env(('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'),
                    'pytorch', ('torch.distributed.run',
                                'tools/dist_train.sh or mim train --launcher '
                                'pytorch'))
        dist.init_process_group(backend='gloo',
                                rank=int(os.environ['RANK']),
                                world_size=int(os.environ['WORLD_SIZE']))
    if cfg.get('model_wrapper_cfg') is None:
        cfg.model_wrapper_cfg = dict(type='CPUDistributedDataParallel')
    return True
