# Copyright (c) simdr_ext contributors. All rights reserved.
from .heads import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .backbones import *  # noqa: F401,F403
