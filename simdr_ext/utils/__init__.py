# Copyright (c) simdr_ext contributors. All rights reserved.
from .safe_load import allow_mmengine_checkpoints, mmengine_checkpoint_globals

__all__ = ['allow_mmengine_checkpoints', 'mmengine_checkpoint_globals']
