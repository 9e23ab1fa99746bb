# Copyright (c) simdr_ext contributors. All rights reserved.
"""Test a checkpoint: ``python tools/test.py CONFIG CHECKPOINT [options]``."""
import simdr_ext  # noqa: F401  (registers the modules)
from simdr_ext.apis.test import main

if __name__ == '__main__':
    main()
