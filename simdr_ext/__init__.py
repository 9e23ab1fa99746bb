# Copyright (c) simdr_ext contributors. All rights reserved.
"""simdr_ext: SimDR, SimDR* and DARK keypoint representations for MMPose.

Importing the package registers every codec and model into mmpose's
registries (``mmpose.registry.KEYPOINT_CODECS`` and ``MODELS``),
allow-lists what mmengine checkpoints contain for ``torch.load`` with
``weights_only=True`` and puts the checked loaders of
:mod:`simdr_ext.engine.trusted_load` behind every checkpoint scheme of
mmengine (local files, URLs, the torch hub cache, ``torchvision://``,
``open-mmlab://``, ...).
"""
from .utils.safe_load import allow_mmengine_checkpoints
from .version import __version__

allow_mmengine_checkpoints()

from . import codecs, datasets, engine, models  # noqa: E402,F401

engine.trusted_load.install()

__all__ = ['__version__', 'codecs', 'datasets', 'engine', 'models']
