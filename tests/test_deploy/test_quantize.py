# Copyright (c) simdr_ext contributors. All rights reserved.
"""Static int8 quantization of exported graphs: shared conv biases, the
layers kept float32, the metadata, and the checks of its inputs."""
import numpy as np
import pytest

pytest.importorskip(
    'onnxruntime', reason='onnxruntime is an optional extra '
    '(requirements/onnx.txt; tools/setup_env.sh installs it)')
onnx = pytest.importorskip('onnx')
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from simdr_ext.deploy.quantize import (float_tail,  # noqa: E402
                                       inline_shared_initializers,
                                       op_counts, quantize_int8)


def tiny_graph(path, shared_bias=True):
    """crops (B, 3, 8, 6) → conv → relu → conv (1 channel) → flatten →
    MatMul (48 → 12) → Softmax → ArgMax, with the two convs' biases
    shared through an ``Identity`` as ``torch.onnx.export`` writes equal
    biases; metadata ``simdr.precision`` = ``"fp32"``."""
    rng = np.random.default_rng(0)
    inits = [
        numpy_helper.from_array(rng.normal(size=(4, 3, 3, 3)).astype(
            np.float32) * 0.01, 'w1'),
        numpy_helper.from_array(rng.normal(size=(4, 4, 1, 1)).astype(
            np.float32), 'w2'),
        numpy_helper.from_array(np.zeros(4, np.float32), 'b1'),
        numpy_helper.from_array(rng.normal(size=(192, 12)).astype(
            np.float32), 'fc'),
        numpy_helper.from_array(np.array([0, -1], np.int64), 'shape'),
    ]
    nodes = [
        helper.make_node('Identity', ['b1'], ['b2'], name='Identity_0'),
        helper.make_node('Conv', ['crops', 'w1', 'b1'], ['c1'], name='conv1',
                         pads=[1, 1, 1, 1]),
        helper.make_node('Relu', ['c1'], ['r1'], name='relu1'),
        helper.make_node('Conv', ['r1', 'w2', 'b2' if shared_bias else 'b1'],
                         ['c2'], name='final_layer'),
        helper.make_node('Reshape', ['c2', 'shape'], ['flat'], name='flat'),
        helper.make_node('MatMul', ['flat', 'fc'], ['logits'], name='mlp'),
        helper.make_node('Softmax', ['logits'], ['scores'], name='softmax'),
        helper.make_node('ArgMax', ['logits'], ['keypoints'], name='argmax',
                         keepdims=1),
    ]
    graph = helper.make_graph(
        nodes, 'tiny',
        [helper.make_tensor_value_info('crops', TensorProto.FLOAT,
                                       ['batch', 3, 8, 6])],
        [helper.make_tensor_value_info('keypoints', TensorProto.INT64,
                                       ['batch', 1]),
         helper.make_tensor_value_info('scores', TensorProto.FLOAT,
                                       ['batch', 12])], inits)
    opset = [helper.make_opsetid('', 17)]
    model = helper.make_model(graph, opset_imports=opset)
    model.ir_version = 8
    entry = model.metadata_props.add()
    entry.key, entry.value = 'simdr.precision', '"fp32"'
    onnx.save(model, str(path))
    return str(path)


def crops(n=4):
    return np.random.default_rng(1).uniform(0, 255, (n, 3, 8, 6)).astype(
        np.float32)


def test_shared_biases_get_their_own_initializer(tmp_path):
    model = onnx.load(tiny_graph(tmp_path / 'm.onnx'))
    assert inline_shared_initializers(model) == 1
    names = {i.name for i in model.graph.initializer}
    assert 'b2' in names
    assert [n.op_type for n in model.graph.node].count('Identity') == 0
    onnx.checker.check_model(model)


def test_qoperator_quantizes_convs_whose_bias_is_shared(tmp_path):
    """torch.onnx.export dedupes equal biases behind Identity nodes; the
    quantizer needs each bias as an initializer (without the inlining:
    AttributeError 'NoneType' object has no attribute 'data_type')."""
    src = tiny_graph(tmp_path / 'm.onnx')
    with pytest.raises(AttributeError, match='data_type'):
        quantize_int8(src, str(tmp_path / 'raw.onnx'), crops(),
                      quant_format='QOperator', inline_biases=False,
                      float_depth=0, op_types=('Conv', ))
    out = str(tmp_path / 'q.onnx')
    quantize_int8(src, out, crops(), quant_format='QOperator',
                  float_depth=0, op_types=('Conv', ))
    assert op_counts(out).get('QLinearConv') == 2


def test_qdq_quantizes_the_bias_of_every_conv(tmp_path):
    """In QDQ a shared bias stayed float (no DequantizeLinear of an int32
    bias, so onnxruntime cannot fuse the conv into QLinearConv)."""
    src = tiny_graph(tmp_path / 'm.onnx')
    out = str(tmp_path / 'q.onnx')
    quantize_int8(src, out, crops(), float_depth=0, op_types=('Conv', ))
    model = onnx.load(out)
    conv_biases = [n.input[2] for n in model.graph.node
                   if n.op_type == 'Conv']
    producers = {o: n.op_type for n in model.graph.node for o in n.output}
    assert [producers.get(b) for b in conv_biases] == [
        'DequantizeLinear', 'DequantizeLinear']


def test_the_head_tail_and_decoder_stay_float(tmp_path):
    model = onnx.load(tiny_graph(tmp_path / 'm.onnx'))
    assert set(float_tail(model, 1)) == {'mlp', 'softmax', 'argmax'}
    assert set(float_tail(model, 2)) == {'mlp', 'softmax', 'argmax', 'flat',
                                         'final_layer'}
    out = str(tmp_path / 'q.onnx')
    info = quantize_int8(tiny_graph(tmp_path / 'm.onnx'), out, crops(),
                         float_depth=2)
    assert 'final_layer' in info['float_nodes']
    q = onnx.load(out)
    node = {n.name: n for n in q.graph.node}
    producers = {o: n.op_type for n in q.graph.node for o in n.output}
    # the float layers read float tensors, not dequantized weights
    assert producers.get(node['mlp'].input[1]) is None
    assert producers.get(node['final_layer'].input[1]) is None
    assert producers.get(node['conv1'].input[1]) == 'DequantizeLinear'
    # the metadata travels and says int8; the input stays float32
    meta = {p.key: p.value for p in q.metadata_props}
    assert meta['simdr.precision'] == '"int8"'
    assert q.graph.input[0].type.tensor_type.elem_type == TensorProto.FLOAT


@pytest.mark.parametrize('kwargs,match', [
    (dict(quant_format='QLinear'), 'quant_format must be QDQ or QOperator'),
    (dict(activation='int4'), 'activation must be uint8 or int8'),
    (dict(weight='fp8'), 'weight must be uint8 or int8'),
])
def test_bad_options_are_named(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        quantize_int8(tiny_graph(tmp_path / 'm.onnx'),
                      str(tmp_path / 'q.onnx'), crops(), **kwargs)


def test_no_calibration_crops_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match='calibration crops'):
        quantize_int8(tiny_graph(tmp_path / 'm.onnx'),
                      str(tmp_path / 'q.onnx'),
                      np.zeros((0, 3, 8, 6), np.float32))


def test_int8_export_needs_calibration_crops(pose_model_factory, tmp_path):
    from simdr_ext.deploy import export_onnx
    with pytest.raises(ValueError, match='int8 export needs calibration'):
        export_onnx(pose_model_factory('simdr'), str(tmp_path / 'm.onnx'),
                    precision='int8')
    assert not (tmp_path / 'm.onnx').exists()
