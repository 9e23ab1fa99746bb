# Copyright (c) simdr_ext contributors. All rights reserved.
import io
import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging.history_buffer import HistoryBuffer

import simdr_ext  # noqa: F401  (installs the allow-list)


def roundtrip(obj):
    buf = io.BytesIO()
    torch.save(obj, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=True)


def test_mmengine_checkpoint_content_loads_with_weights_only():
    hb = HistoryBuffer([1.0, 2.0, 4.0], [1, 1, 1])
    ckpt = dict(
        state_dict={'w': torch.ones(2)},
        message_hub=dict(log_scalars={'train/loss': hb}),
        meta=dict(
            dataset_meta=dict(sigmas=np.array([0.5, 0.25], np.float32)),
            seed=np.int64(3)))
    out = roundtrip(ckpt)
    assert out['message_hub']['log_scalars']['train/loss'].mean() == \
        pytest.approx(7 / 3)
    np.testing.assert_array_equal(out['meta']['dataset_meta']['sigmas'],
                                  [0.5, 0.25])
    assert out['meta']['seed'] == 3


class CallsOsSystem:

    def __reduce__(self):
        return (os.system, ('echo unsafe', ))


class WalksThroughGetattr:
    """Uses the allow-listed name builtins.getattr to reach a non-method."""

    def __reduce__(self):
        return (getattr, (HistoryBuffer, '__init__'))


@pytest.mark.parametrize('payload,match', [
    (CallsOsSystem(), 'system'),
    (WalksThroughGetattr(), 'refused getattr'),
],
                         ids=['os.system', 'getattr'])
def test_code_running_pickles_are_refused(payload, match):
    with pytest.raises(pickle.UnpicklingError, match=match):
        roundtrip({'x': payload})
