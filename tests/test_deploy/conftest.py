# Copyright (c) simdr_ext contributors. All rights reserved.
"""A peaked (trained) quickstart model for the precision parity tests."""
import os.path as osp

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: The checkpoint ``tools/quickstart.py`` trains (git-ignored).
QUICKSTART_CHECKPOINT = osp.join(REPO, 'work_dirs', 'quickstart',
                                 'epoch_300.pth')


def peaked_checkpoint_path(request) -> str:
    """The quickstart checkpoint where ``tools/quickstart.py`` has written
    it, else the session's ``trained_quickstart`` (trained here on the
    bundled people)."""
    if osp.isfile(QUICKSTART_CHECKPOINT):
        return QUICKSTART_CHECKPOINT
    return request.getfixturevalue('trained_quickstart')


@pytest.fixture(scope='session')
def peaked_checkpoint(request) -> str:
    """A quickstart checkpoint with peaked outputs (random weights give
    flat ones): :func:`peaked_checkpoint_path`."""
    return peaked_checkpoint_path(request)
