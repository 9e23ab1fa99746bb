# Copyright (c) simdr_ext contributors. All rights reserved.
"""The mm-free ONNX runtime: no torch/mm* import, same keypoints as the
PyTorch batched API, and the half-precision parity figure."""
import json
import os.path as osp
import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytest.importorskip(
    'onnxruntime', reason='onnxruntime is an optional extra '
    '(requirements/onnx.txt; tools/setup_env.sh installs it)')

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

# runs in a fresh interpreter: import, build, infer, then list what is
# loaded
CHILD = textwrap.dedent('''
    import json, sys
    import numpy as np
    import simdr_runtime
    from simdr_runtime import OnnxPoseRuntime
    args = json.loads(sys.argv[1])
    runtime = OnnxPoseRuntime(args['onnx'], batch_size=5, num_threads=1)
    boxes = [np.array(b, np.float32) for b in args['boxes']]
    results = runtime(args['images'], boxes)
    np.save(args['out'], np.concatenate([r['keypoints'] for r in results]))
    heavy = sorted(m for m in sys.modules
                   if m.split('.')[0] in ('torch', 'torchvision')
                   or m.startswith('mm'))
    print(json.dumps(heavy))
''')


def test_import_pulls_in_no_torch_and_no_mm_package():
    proc = subprocess.run(
        [sys.executable, '-c',
         'import sys, simdr_runtime; '
         'from simdr_runtime import OnnxPoseRuntime, run_topdown; '
         'print([m for m in sys.modules if m.split(".")[0] == "torch" '
         'or m.startswith("mm")])'],
        cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == '[]'


@pytest.mark.parametrize('kind,flip', [('simdr', False), ('simdr', True),
                                       ('sasimdr', True), ('dark', True)])
def test_runtime_matches_the_torch_path(kind, flip, pose_model_factory,
                                        bundled_detections, tmp_path):
    """In a fresh interpreter without torch: same keypoints as
    :class:`BatchedTopdownInferencer` on the bundled images and boxes
    (same crops, same float32 network; rounding of ~1e-6 relative only,
    against >= 1 / k px for any argmax disagreement)."""
    from simdr_ext.apis import BatchedTopdownInferencer
    from simdr_ext.deploy import export_onnx
    model = pose_model_factory(kind)
    model.test_cfg['flip_test'] = flip
    onnx_file = str(tmp_path / 'm.onnx')
    export_onnx(model, onnx_file, flip_test=None)
    paths = list(bundled_detections)
    boxes = list(bundled_detections.values())
    ref = BatchedTopdownInferencer(model, batch_size=8)(paths, boxes)
    ref = np.concatenate([r['keypoints'] for r in ref])

    out = tmp_path / 'kpts.npy'
    args = dict(onnx=onnx_file, images=paths, out=str(out),
                boxes=[b.tolist() for b in boxes])
    proc = subprocess.run([sys.executable, '-c', CHILD, json.dumps(args)],
                          cwd=REPO, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []
    got = np.load(out)
    assert got.shape == ref.shape == (118, 17, 2)
    worst = float(np.abs(got - ref).max())
    print(f'{kind} flip={flip}: max |runtime - torch| = {worst:.2e} px')
    assert worst < 1e-3


def test_runtime_reads_the_exported_metadata(pose_model_factory, tmp_path):
    from simdr_runtime import OnnxPoseRuntime

    from simdr_ext.deploy import export_onnx
    model = pose_model_factory('simdr')
    onnx_file = str(tmp_path / 'm.onnx')
    export_onnx(model, onnx_file, flip_test=True)
    runtime = OnnxPoseRuntime(onnx_file)
    assert runtime.geometry.input_size == (96, 128)
    assert runtime.geometry.padding == 1.25
    assert runtime.geometry.use_udp is False
    assert runtime.metadata['flip_test'] is True
    assert runtime.num_keypoints == 17
    # the skeleton travels with the file, for simdr_runtime.draw
    assert [list(link) for link in runtime.skeleton] == [
        list(link) for link in model.dataset_meta['skeleton_links']]
    img = np.zeros((200, 300, 3), np.uint8)
    res = runtime([img, img], [np.array([[10, 10, 100, 190]]), None],
                  return_distributions=True)
    assert res[0]['simcc_x'].shape == (1, 17, 192)
    assert res[1]['keypoints'].shape == (0, 17, 2)


def test_a_file_without_metadata_is_refused(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    from simdr_runtime import OnnxPoseRuntime
    graph = helper.make_graph(
        [helper.make_node('Identity', ['crops'], ['keypoints'])], 'g',
        [helper.make_tensor_value_info('crops', TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info('keypoints', TensorProto.FLOAT, [1])])
    path = str(tmp_path / 'plain.onnx')
    onnx.save(helper.make_model(
        graph, opset_imports=[helper.make_opsetid('', 17)], ir_version=8),
        path)
    with pytest.raises(ValueError, match='lacks the metadata'):
        OnnxPoseRuntime(path)
