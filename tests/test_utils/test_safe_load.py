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


# -- the allow-list, pinned -------------------------------------------------

# every global a checkpoint may name, as ``module.qualname``: adding one is a
# decision that must change this list
ALLOWED = sorted([
    'mmengine.logging.history_buffer.HistoryBuffer', 'numpy.ndarray',
    'numpy.dtype', 'builtins.getattr', 'builtins.bytes',
    'numpy.core.multiarray._reconstruct',
    'numpy._core.multiarray._reconstruct', 'numpy.core.multiarray.scalar',
    'numpy._core.multiarray.scalar'
] + [f'numpy.dtypes.{n}DType' for n in (
    'Bool', 'Bytes', 'CLongDouble', 'Complex128', 'Complex64', 'DateTime64',
    'Float16', 'Float32', 'Float64', 'Int16', 'Int32', 'Int64', 'Int8',
    'LongDouble', 'LongLong', 'Object', 'Str', 'TimeDelta64', 'UInt16',
    'UInt32', 'UInt64', 'UInt8', 'ULongLong', 'Void')])
STAND_INS = {'builtins.getattr', 'builtins.bytes'}


def allowed_names():
    from simdr_ext.utils.safe_load import mmengine_checkpoint_globals
    return {g[1] if isinstance(g, tuple) else
            f'{g.__module__}.{g.__qualname__}': g[0] if isinstance(g, tuple)
            else g for g in mmengine_checkpoint_globals()}


def test_the_allow_list_is_exactly_the_pinned_one():
    names = allowed_names()
    assert sorted(names) == ALLOWED
    # the two builtins are bound to stand-ins, never to themselves
    assert names['builtins.getattr'] is not getattr
    assert names['builtins.bytes'] is not bytes
    registered = {f'{g.__module__}.{g.__qualname__}' if not isinstance(
        g, tuple) else g[1] for g in torch.serialization.get_safe_globals()}
    assert registered >= set(ALLOWED)
    assert 'builtins.eval' not in registered
    assert not any(n.startswith(('os.', 'posix.', 'subprocess.',
                                 'builtins.e', 'builtins.open'))
                   for n in registered)


class Getattr:

    def __init__(self, obj, name):
        self.args = (obj, name)

    def __reduce__(self):
        return (getattr, self.args)


def test_getattr_stand_in_refuses_every_other_object_and_name():
    """The object check and the name check each refuse on their own: every
    allow-listed object with an allowed name, and HistoryBuffer with every
    other attribute name. (A dtype class may itself pickle through a global
    outside the list, e.g. ``numpy.core._DType_reconstruct``, and is then
    refused before the stand-in is called; ``numpy.ndarray`` and
    ``numpy.dtype`` pickle by name and reach the stand-in.)"""
    allowed_methods = ('min', 'max', 'current', 'mean')
    others = [g for n, g in allowed_names().items()
              if n not in STAND_INS and g is not HistoryBuffer]
    reached = set()
    for obj in others:
        for name in allowed_methods:
            with pytest.raises(pickle.UnpicklingError) as err:
                roundtrip({'x': Getattr(obj, name)})
            if 'refused getattr' in str(err.value):
                reached.add(obj)
            else:
                assert 'global' in str(err.value), str(err.value)[:300]
    assert {np.ndarray, np.dtype} <= reached
    for name in sorted(set(dir(HistoryBuffer)) - set(allowed_methods) -
                       set(HistoryBuffer._statistics_methods)):
        with pytest.raises(pickle.UnpicklingError, match='refused getattr'):
            roundtrip({'x': Getattr(HistoryBuffer, name)})
    assert roundtrip({'x': Getattr(HistoryBuffer, 'mean')})['x'] is \
        HistoryBuffer.mean


class Bytes:

    def __init__(self, *args):
        self.args = args

    def __reduce__(self):
        return (bytes, self.args)


@pytest.mark.parametrize('args', [(10**12, ), (3, ), ('text', 'utf-8'),
                                  ([1, 2, 3], ), (b'a', 'utf-8'),
                                  ((1, 2), )])
def test_bytes_stand_in_refuses_every_other_argument(args):
    with pytest.raises(pickle.UnpicklingError, match='refused bytes'):
        roundtrip({'x': Bytes(*args)})
