# Copyright (c) simdr_ext contributors. All rights reserved.
"""Distributed training without GPUs: gloo process group, CPU DDP.

mmengine's ``init_dist('pytorch')`` calls ``torch.cuda.set_device`` and its
runner wraps the model in DDP with ``device_ids=[LOCAL_RANK]``; both fail on
a machine without CUDA. :func:`setup_cpu_distributed` starts the process
group itself (mmengine then skips ``init_dist``) and selects
:class:`CPUDistributedDataParallel`, which is DDP without device ids.
With CUDA available nothing is changed: mmengine sets up NCCL as usual.
"""
import os
import subprocess

import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.model import MMDistributedDataParallel
from mmengine.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class CPUDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` for CPU modules (no ``device_ids``).

    mmengine's runner passes ``device_ids=[LOCAL_RANK]`` to every
    ``DistributedDataParallel`` subclass; DDP rejects device ids for a CPU
    module, so they are dropped here.

    Args:
        module (nn.Module): The model to wrap.
        device_ids (list, optional): Ignored. Defaults to ``None``.
        **kwargs: Passed to ``MMDistributedDataParallel``.
    """

    def __init__(self, module, device_ids=None, **kwargs) -> None:
        kwargs.pop('output_device', None)
        super().__init__(module=module, device_ids=None, **kwargs)


def slurm_environment() -> None:
    """Set ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and
    ``MASTER_PORT`` from what ``srun`` sets, as mmengine's slurm set-up does
    (the first host of ``SLURM_NODELIST`` is the master; port 29500 unless
    ``MASTER_PORT`` is set)."""
    missing = [k for k in ('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST')
               if k not in os.environ]
    if missing:
        raise RuntimeError(
            '--launcher slurm needs the environment that srun sets '
            f'(missing: {", ".join(missing)}); start the run with '
            'tools/slurm_train.sh')
    os.environ.setdefault('RANK', os.environ['SLURM_PROCID'])
    os.environ.setdefault('WORLD_SIZE', os.environ['SLURM_NTASKS'])
    os.environ.setdefault('LOCAL_RANK', os.environ.get('SLURM_LOCALID', '0'))
    os.environ.setdefault('MASTER_PORT', '29500')
    if 'MASTER_ADDR' not in os.environ:
        hosts = subprocess.run(
            ['scontrol', 'show', 'hostnames', os.environ['SLURM_NODELIST']],
            capture_output=True, text=True, check=True).stdout.split()
        os.environ['MASTER_ADDR'] = hosts[0]


def setup_cpu_distributed(cfg: Config) -> bool:
    """Start a gloo process group for a CPU-only ``--launcher pytorch`` or
    ``--launcher slurm`` run.

    Reads ``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT`` as set
    by ``torch.distributed.run`` / ``torch.distributed.launch``, or derives
    them from ``srun``'s variables (:func:`slurm_environment`).

    Args:
        cfg (Config): The run's config; ``model_wrapper_cfg`` is set to
            :class:`CPUDistributedDataParallel` unless the config chose one.

    Returns:
        bool: Whether a CPU process group was started.
    """
    launcher = cfg.get('launcher', 'none')
    if launcher not in ('pytorch', 'slurm') or torch.cuda.is_available():
        return False
    if launcher == 'slurm' and not dist.is_initialized():
        slurm_environment()
    if not dist.is_initialized():
        missing = [
            k for k in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT')
            if k not in os.environ
        ]
        if missing:
            raise RuntimeError(
                '--launcher pytorch needs the environment that '
                'torch.distributed.run sets (missing: ' +
                ', '.join(missing) + '); start the run with '
                'tools/dist_train.sh or mim train --launcher pytorch')
        dist.init_process_group(
            backend='gloo',
            rank=int(os.environ['RANK']),
            world_size=int(os.environ['WORLD_SIZE']))
    if cfg.get('model_wrapper_cfg') is None:
        cfg.model_wrapper_cfg = dict(type='CPUDistributedDataParallel')
    return True
