# Copyright (c) simdr_ext contributors. All rights reserved.
import pytest
import torch


@pytest.fixture(scope='module', autouse=True)
def one_thread():
    """One intra-op thread: the 2-core machine is shared, and competing
    OpenMP thread pools slow each other down many times over."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
