# Copyright (c) simdr_ext contributors. All rights reserved.
"""A person-detector ONNX file in the end-to-end YOLOX / RTMDet layout,
built with ``onnx.helper``, for the detector and runtime tests.

Input ``input`` float32 (1, 3, H, W); outputs ``dets`` float32 (1, N, 5)
and ``labels`` int64 (1, N). The boxes are constants in input (letterbox)
pixels; each score is the given constant times the input's bottom-right
value divided by 114, so it is the constant exactly when that pixel is
letterbox padding, and 0 when it is a black image pixel.
"""
import numpy as np
from onnx import TensorProto, helper, numpy_helper, save


def write_detector(path,
                   boxes,
                   scores,
                   labels=None,
                   input_size=(320, 320),
                   input_dims=None,
                   outputs=('dets', 'labels')) -> str:
    """Write the detector graph.

    Args:
        path: Where to write.
        boxes (array-like): (N, 4) xyxy in input pixels.
        scores (array-like): (N, ) scores.
        labels (array-like, optional): (N, ) classes; ``None``: zeros.
        input_size (tuple): ``(W, H)``.
        input_dims (list, optional): The declared input shape; ``None``:
            ``[1, 3, H, W]``.
        outputs (tuple): Output names: ``dets`` and ``labels`` (the
            layout), or others to build a file of another layout.

    Returns:
        str: ``path``.
    """
    w, h = input_size
    boxes = np.asarray(boxes, np.float32).reshape(1, -1, 4)
    n = boxes.shape[1]
    scores = np.asarray(scores, np.float32).reshape(1, n, 1)
    labels = np.zeros(n, np.int64) if labels is None else labels
    init = [
        numpy_helper.from_array(boxes, 'boxes'),
        numpy_helper.from_array(scores, 'scores'),
        numpy_helper.from_array(
            np.asarray(labels, np.int64).reshape(1, n), 'label_values'),
        numpy_helper.from_array(np.array([-1, -1], np.int64), 'starts'),
        numpy_helper.from_array(np.array([2**31, 2**31], np.int64), 'ends'),
        numpy_helper.from_array(np.array([2, 3], np.int64), 'axes'),
        numpy_helper.from_array(np.array(114, np.float32), 'pad'),
    ]
    nodes = [
        helper.make_node('Slice', ['input', 'starts', 'ends', 'axes'],
                         ['corner']),
        helper.make_node('ReduceMean', ['corner'], ['corner_mean'],
                         keepdims=0),
        helper.make_node('Div', ['corner_mean', 'pad'], ['factor']),
        helper.make_node('Mul', ['scores', 'factor'], ['scaled']),
        helper.make_node('Concat', ['boxes', 'scaled'], [outputs[0]],
                         axis=2),
        helper.make_node('Identity', ['label_values'], [outputs[1]]),
    ]
    graph = helper.make_graph(
        nodes, 'detector', [
            helper.make_tensor_value_info('input', TensorProto.FLOAT,
                                          input_dims or [1, 3, h, w])
        ], [
            helper.make_tensor_value_info(outputs[0], TensorProto.FLOAT,
                                          [1, n, 5]),
            helper.make_tensor_value_info(outputs[1], TensorProto.INT64,
                                          [1, n])
        ], init)
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid('', 17)], ir_version=8)
    save(model, str(path))
    return str(path)
