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


def test_empty_arrays_and_an_empty_history_buffer_load():
    """Pickle protocol 2 writes the data of an empty array as a call to
    ``builtins.bytes``; both must load with ``weights_only=True``."""
    ckpt = dict(
        meta=dict(dataset_meta=dict(
            skeleton_links=np.array([], np.int64),
            empty_float=np.zeros((0, 2), np.float32))),
        message_hub=dict(log_scalars={'train/loss': HistoryBuffer()}))
    out = roundtrip(ckpt)
    assert out['meta']['dataset_meta']['skeleton_links'].shape == (0, )
    assert out['meta']['dataset_meta']['empty_float'].shape == (0, 2)
    assert out['meta']['dataset_meta']['empty_float'].dtype == np.float32
    hb = out['message_hub']['log_scalars']['train/loss']
    hb.update(2.0)
    assert hb.current() == 2.0


class AllocatesThroughBytes:
    """Uses the allow-listed name builtins.bytes to allocate memory."""

    def __reduce__(self):
        return (bytes, (10**12, ))


def test_bytes_is_refused_anything_but_what_pickle_writes():
    with pytest.raises(pickle.UnpicklingError, match=r'refused bytes'):
        roundtrip({'x': AllocatesThroughBytes()})


def mmpose_dataset_files():
    import glob
    import os.path as osp

    import mmpose
    root = osp.join(osp.dirname(mmpose.__file__), '.mim', 'configs',
                    '_base_', 'datasets')
    files = sorted(glob.glob(osp.join(root, '*.py')))
    assert len(files) == 55, root  # as mmpose 1.3.2 ships them
    return files


def test_every_mmpose_metainfo_survives_a_checkpoint(tmp_path):
    """Each data-set metainfo mmpose ships, parsed as its datasets do and
    stored in ``meta.dataset_meta`` as mmengine's runner stores it, loads
    with ``weights_only=True``."""
    from mmpose.datasets.datasets.utils import parse_pose_metainfo
    with_empty = []
    for path in mmpose_dataset_files():
        meta = parse_pose_metainfo(dict(from_file=path))
        if any(isinstance(v, np.ndarray) and v.size == 0
               for v in meta.values()):
            with_empty.append(path)
        ckpt = dict(meta=dict(dataset_meta=meta, epoch=1, iter=1),
                    state_dict={'w': torch.ones(1)},
                    message_hub=dict(log_scalars={}, runtime_info={}))
        file = tmp_path / 'ckpt.pth'
        torch.save(ckpt, file)
        out = torch.load(file, weights_only=True)['meta']['dataset_meta']
        # equal values, dtypes and shapes (as mmengine compares metainfo)
        assert pickle.dumps(out) == pickle.dumps(meta), path
    # the files whose empty skeleton gave the refused checkpoints
    assert len(with_empty) == 26, with_empty
