# Copyright (c) simdr_ext contributors. All rights reserved.
"""Train a simdr_ext model: ``python tools/train.py CONFIG [options]``."""
import simdr_ext  # noqa: F401  (registers the modules)
from simdr_ext.apis.train import main

if __name__ == '__main__':
    main()
