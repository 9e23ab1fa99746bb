# Copyright (c) simdr_ext contributors. All rights reserved.
import os.path as osp
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
QUICKSTART = osp.join(REPO, 'configs', 'quickstart',
                      'simdr_res18_1xb12-300e_coco-mini-128x96.py')


@pytest.fixture(scope='session')
def repo_root() -> str:
    return REPO


@pytest.fixture(scope='session')
def quickstart_config() -> str:
    return QUICKSTART


@pytest.fixture(scope='session')
def python() -> str:
    return sys.executable


# every test sees simdr_ext's modules registered, as configs do through
# custom_imports
import simdr_ext  # noqa: E402,F401
