# Copyright (c) simdr_ext contributors. All rights reserved.
"""The ONNX runtime checks the model file (metadata, inputs, outputs, every
run's shapes) and the boxes before anything is allocated or returned.

The models are small graphs built here with ``onnx.helper``: the layout of
``simdr_ext.deploy.export_onnx`` (input ``crops`` (B, 3, h, w); outputs
``keypoints`` (B, K, 2), ``scores`` (B, K), optionally ``simcc_x`` and
``simcc_y``) with constant answers, and the export's metadata.
"""
import json

import numpy as np
import pytest

from simdr_runtime.crops import MAX_BOX_COORD, check_boxes
from simdr_runtime.engine import CropGeometry, run_topdown

onnx = pytest.importorskip(
    'onnx', reason='onnx is an optional extra (requirements/onnx.txt)')
pytest.importorskip(
    'onnxruntime', reason='onnxruntime is an optional extra '
    '(requirements/onnx.txt; tools/setup_env.sh installs it)')

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from simdr_runtime import OnnxPoseRuntime  # noqa: E402

W, H, K, BINS = 96, 128, 17, 192

METADATA = {
    'input_size': [W, H],
    'padding': 1.25,
    'use_udp': False,
    'flip_test': True,
    'num_keypoints': K,
    'precision': 'fp32',
    'decoder': 'SimDRLabel'
}


def base_keypoints(k: int) -> np.ndarray:
    """The constant crop-pixel keypoints (1, k, 2) of the test graphs."""
    i = np.arange(k, dtype=np.float32)
    return np.stack([10 + 4 * i, 20 + 5 * i], -1)[None]


def write_model(path,
                k: int = K,
                declared_k=K,
                input_name: str = 'crops',
                input_dims=('batch', 3, H, W),
                input_type=TensorProto.FLOAT,
                outputs=('keypoints', 'scores'),
                score_type=TensorProto.FLOAT,
                metadata=None,
                raw_metadata=None) -> str:
    """An ONNX file whose outputs are constants broadcast to the batch.

    Args:
        path: Where to write.
        k (int): The keypoints the graph really returns.
        declared_k: The keypoint dimension declared in the outputs' shapes
            (an int, a name for a dynamic one, or ``None``: no shape).
        input_name, input_dims, input_type: The declared input.
        outputs (tuple): Output names, of ``keypoints``, ``scores``,
            ``simcc_x``, ``simcc_y``, ``extra``.
        score_type: The element type of ``scores``.
        metadata (dict): Replaces entries of :data:`METADATA` (JSON
            encoded).
        raw_metadata (dict): ``simdr.`` entries written as given.

    Returns:
        str: ``path``.
    """
    # the keypoint dimension goes through NonZero, whose output size is
    # only known at run time: what the graph declares is all that
    # onnxruntime knows before a run
    init = [
        numpy_helper.from_array(np.ones(k, np.float32), 'ones_k'),
        numpy_helper.from_array(np.array([0], np.int64), 'axis0'),
        numpy_helper.from_array(np.array(0, np.float32), 'zero'),
        numpy_helper.from_array(np.array([-1, 1, 1], np.int64), 'shape3'),
        numpy_helper.from_array(np.array([-1, 1], np.int64), 'shape2'),
        numpy_helper.from_array(base_keypoints(k)[0], 'base_k2'),
        numpy_helper.from_array(np.full(k, 0.75, np.float32), 'base_k'),
        numpy_helper.from_array(np.full((k, BINS), 1 / BINS, np.float32),
                                'base_kb'),
    ]
    x = input_name
    nodes = []
    if input_type != TensorProto.FLOAT:
        x = 'as_float'
        nodes.append(helper.make_node('Cast', [input_name], [x],
                                      to=TensorProto.FLOAT))
    nodes += [
        helper.make_node('ReduceMean', [x], ['mean'],
                         axes=list(range(1, len(input_dims))),
                         keepdims=1),
        helper.make_node('Mul', ['mean', 'zero'], ['m0']),
        helper.make_node('Reshape', ['m0', 'shape3'], ['m3']),
        helper.make_node('Reshape', ['m0', 'shape2'], ['m2']),
        helper.make_node('NonZero', ['ones_k'], ['nz']),
        helper.make_node('Squeeze', ['nz', 'axis0'], ['idx']),
    ]
    for base, name, batch in [('base_k2', 'keypoints', 'm3'),
                              ('base_k', 'scores_f', 'm2'),
                              ('base_kb', 'simcc_x', 'm3')]:
        nodes += [
            helper.make_node('Gather', [base, 'idx'], [base + '_g'], axis=0),
            helper.make_node('Unsqueeze', [base + '_g', 'axis0'],
                             [base + '_u']),
            helper.make_node('Add', [batch, base + '_u'], [name]),
        ]
    nodes += [
        helper.make_node('Identity', ['simcc_x'], ['simcc_y']),
        helper.make_node('Identity', ['scores_f'], ['extra']),
    ]
    if score_type == TensorProto.FLOAT:
        nodes.append(helper.make_node('Identity', ['scores_f'], ['scores']))
    else:
        nodes.append(
            helper.make_node('Cast', ['scores_f'], ['scores'], to=score_type))

    def shape(name):
        if declared_k is None:
            return None
        return dict(
            keypoints=['batch', declared_k, 2],
            scores=['batch', declared_k],
            simcc_x=['batch', declared_k, BINS],
            simcc_y=['batch', declared_k, BINS],
            extra=['batch', declared_k])[name]

    outs = [
        helper.make_tensor_value_info(
            name, score_type if name == 'scores' else TensorProto.FLOAT,
            shape(name)) for name in outputs
    ]
    graph = helper.make_graph(nodes, 'pose', [
        helper.make_tensor_value_info(input_name, input_type,
                                      list(input_dims))
    ], outs, init)
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid('', 17)], ir_version=8)
    entries = {
        f'simdr.{key}': json.dumps(value)
        for key, value in dict(METADATA, **(metadata or {})).items()
    }
    entries.update(raw_metadata or {})
    helper.set_model_props(model, entries)
    onnx.save(model, str(path))
    return str(path)


def test_a_well_formed_file_runs(tmp_path):
    path = write_model(
        tmp_path / 'ok.onnx',
        outputs=('keypoints', 'scores', 'simcc_x', 'simcc_y'))
    runtime = OnnxPoseRuntime(path, batch_size=2)
    assert runtime.geometry == CropGeometry((W, H), 1.25, False)
    img = np.full((200, 300, 3), 90, np.uint8)
    boxes = np.array([[10, 10, 100, 190], [50, 20, 250, 120],
                      [0, 0, 30, 40]], np.float32)
    res = runtime(img, boxes, return_distributions=True)[0]
    assert res['keypoints'].shape == (3, K, 2)
    assert res['simcc_x'].shape == (3, K, BINS)
    np.testing.assert_allclose(res['keypoint_scores'], 0.75)
    # box 0: centre (55, 100), size 90 x 180 padded to 112.5 x 225 and
    # widened to the 3:4 input (168.75 x 225)
    scale = np.array([168.75, 225.0])
    expect = base_keypoints(K)[0] / [W, H] * scale + [55, 100] - scale / 2
    np.testing.assert_allclose(res['keypoints'][0], expect, rtol=1e-5)


def test_another_network_with_copied_metadata_is_refused(tmp_path):
    """5 keypoints declared in the graph, 17 in the metadata."""
    path = write_model(tmp_path / 'other.onnx', k=5, declared_k=5)
    with pytest.raises(ValueError) as err:
        OnnxPoseRuntime(path)
    message = str(err.value)
    assert path in message and '17 keypoints' in message
    assert "output keypoints has shape ['batch', 5, 2]" in message


@pytest.mark.parametrize('declared', ['k', None])
def test_each_run_checks_the_output_shapes(declared, tmp_path):
    """A graph that leaves its keypoint dimension open is caught at run
    time, before the keypoints are used."""
    path = write_model(tmp_path / 'open.onnx', k=5, declared_k=declared)
    runtime = OnnxPoseRuntime(path)
    img = np.zeros((100, 100, 3), np.uint8)
    boxes = np.array([[0, 0, 50, 50]] * 4, np.float32)
    with pytest.raises(ValueError) as err:
        runtime(img, boxes)
    message = str(err.value)
    assert path in message
    assert 'output keypoints of a run on 4 crops has shape (4, 5, 2)' in \
        message and '(4, 17, 2)' in message


@pytest.mark.parametrize('change,match', [
    (dict(input_name='images'), "inputs ['images']"),
    (dict(input_dims=('batch', 3, H)), 'input crops has shape'),
    (dict(input_dims=('batch', 1, H, W)), 'input crops has shape'),
    (dict(input_dims=('batch', 3, W, H)), 'input crops has shape'),
    (dict(input_dims=(4, 3, H, W)), 'with a dynamic batch'),
    (dict(input_type=TensorProto.UINT8), 'input crops is tensor(uint8)'),
    (dict(outputs=('keypoints', )), "outputs ['keypoints']"),
    (dict(outputs=('scores', 'keypoints')), "outputs ['scores', 'keyp"),
    (dict(outputs=('keypoints', 'scores', 'extra')), 'outputs'),
    (dict(outputs=('keypoints', 'scores', 'simcc_x')), 'outputs'),
    (dict(score_type=TensorProto.DOUBLE), 'output scores is tensor(double)'),
])
def test_a_graph_that_is_not_the_exports_is_refused(change, match,
                                                    tmp_path):
    path = write_model(tmp_path / 'g.onnx', **change)
    with pytest.raises(ValueError) as err:
        OnnxPoseRuntime(path)
    assert path in str(err.value) and match in str(err.value)
    assert 'does not fit its metadata' in str(err.value)


@pytest.mark.parametrize('key,value', [
    ('input_size', [100000, 100000]),
    ('input_size', [W, 4097]),
    ('input_size', [0, H]),
    ('input_size', [-W, H]),
    ('input_size', [W]),
    ('input_size', [96.5, H]),
    ('input_size', [True, H]),
    ('input_size', '96x128'),
    ('padding', float('nan')),
    ('padding', float('inf')),
    ('padding', 0),
    ('padding', -1.25),
    ('padding', 1e30),
    ('padding', '1.25'),
    ('padding', True),
    ('use_udp', 1),
    ('flip_test', 'yes'),
    ('num_keypoints', 10**9),
    ('num_keypoints', 0),
    ('num_keypoints', 17.0),
    ('num_keypoints', True),
    ('precision', 'fp64'),
    ('decoder', ''),
    ('decoder', 5),
])
def test_bad_metadata_is_refused_before_any_allocation(key, value, tmp_path):
    path = write_model(tmp_path / 'm.onnx', metadata={key: value})
    with pytest.raises(ValueError) as err:
        OnnxPoseRuntime(path)
    assert path in str(err.value) and f'simdr.{key} must be' in str(
        err.value)


@pytest.mark.parametrize('text', ['{', '[96, 128', '[' * 100000, ''])
def test_metadata_that_is_not_json_is_refused(text, tmp_path):
    path = write_model(
        tmp_path / 'm.onnx', raw_metadata={'simdr.input_size': text})
    with pytest.raises(ValueError) as err:
        OnnxPoseRuntime(path)
    assert path in str(err.value)
    assert 'simdr.input_size is not JSON' in str(err.value)


def test_a_file_onnxruntime_cannot_load_is_named(tmp_path):
    path = tmp_path / 'junk.onnx'
    path.write_bytes(b'\x08\x07 this is not a protobuf \xff\xff')
    with pytest.raises(ValueError, match=f'cannot load {path}'):
        OnnxPoseRuntime(str(path))


@pytest.mark.parametrize('batch_size', [0, -1, 2.5, True, '8'])
def test_a_bad_batch_size_is_refused(batch_size, tmp_path):
    path = write_model(tmp_path / 'ok.onnx')
    with pytest.raises(ValueError, match='batch_size must be a positive'):
        OnnxPoseRuntime(path, batch_size=batch_size)


@pytest.mark.parametrize('box', [
    [-3e38, -3e38, 3e38, 3e38],
    [0, 0, 3e38, 3e38],
    [1e39, 0, 2e39, 10],
    [0, 0, MAX_BOX_COORD * 2, 10],
])
def test_huge_boxes_are_refused_by_index(box, tmp_path):
    """Boxes whose float32 arithmetic overflows: an error naming the box,
    never NaN keypoints."""
    boxes = [[10, 10, 60, 90], box]
    with pytest.raises(ValueError, match=r'my boxes: box 1 '):
        check_boxes(boxes, 'my boxes')
    runtime = OnnxPoseRuntime(write_model(tmp_path / 'ok.onnx'))
    img = np.zeros((100, 100, 3), np.uint8)
    with pytest.raises(ValueError, match=r'boxes of image 1: box 1 '):
        runtime([img, img], [None, boxes])


def test_box_errors_name_the_box():
    with pytest.raises(ValueError, match='box 2 .*non-finite'):
        check_boxes([[0, 0, 1, 1], [0, 0, 2, 2], [0, np.nan, 3, 3]])
    with pytest.raises(ValueError, match='must be numbers'):
        check_boxes([['a', 0, 1, 1]])
    assert check_boxes([[0, 0, MAX_BOX_COORD, 5]]).dtype == np.float32


def fake_infer(k: int = K, bins: int = BINS, shapes=None):
    """A Python back end: constant keypoints; ``shapes``: per call, the
    keypoint count to answer with (for the errors)."""
    calls = []

    def infer(crops):
        n = len(crops)
        kk = shapes[len(calls)] if shapes else k
        calls.append(n)
        return dict(
            keypoints=np.zeros((n, kk, 2), np.float32),
            keypoint_scores=np.ones((n, kk), np.float32),
            simcc_x=np.ones((n, kk, bins + len(calls)), np.float32)
            if bins else np.ones((n, kk, 1), np.float32))

    return infer


def test_the_engine_checks_every_answer():
    img = np.zeros((60, 60, 3), np.uint8)
    boxes = np.array([[0, 0, 30, 30]] * 3, np.float32)
    geometry = CropGeometry((W, H))
    # keypoint count other than K
    with pytest.raises(ValueError, match=r'keypoints of shape \(2, 5, 2\) '
                       r'for 2 crops, expected \(2, 17, 2\)'):
        run_topdown(img, boxes, geometry, 2, fake_infer(k=5, bins=0), K)
    # a per-crop shape that changes between batches
    with pytest.raises(ValueError, match='simcc_x of shape'):
        run_topdown(img, boxes, geometry, 2, fake_infer(), K)
    # not a dict, missing scores, not arrays, wrong batch
    for answer, match in [
        (lambda c: [c], 'returned list'),
        (lambda c: dict(keypoints=np.zeros((len(c), K, 2))),
         'no keypoint_scores'),
        (lambda c: dict(keypoints=np.zeros((len(c), K, 2)).tolist(),
                        keypoint_scores=np.zeros((len(c), K))),
         'keypoints as list'),
        (lambda c: dict(keypoints=np.zeros((len(c), K, 2)),
                        keypoint_scores=np.zeros((len(c), K)),
                        heatmaps=np.zeros((1, K, 4, 4))),
         r'heatmaps of shape \(1, 17, 4, 4\) for 3 crops'),
    ]:
        with pytest.raises(ValueError, match=match):
            run_topdown(img, boxes, geometry, 3, answer, K)
    # padding that overflows float32 with sane boxes
    with pytest.raises(ValueError, match='box 0 .*not finite'):
        run_topdown(img, boxes, CropGeometry((W, H), 1e38), 3,
                    fake_infer(bins=0), K)
    good = run_topdown(img, boxes, geometry, 2, fake_infer(bins=0), K)[0]
    assert good['keypoints'].shape == (3, K, 2)
    assert np.isfinite(good['keypoints']).all()
