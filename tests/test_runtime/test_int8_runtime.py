# Copyright (c) simdr_ext contributors. All rights reserved.
"""The mm-free runtime runs an int8 export with torch unimportable."""
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytest.importorskip(
    'onnxruntime', reason='onnxruntime is an optional extra '
    '(requirements/onnx.txt; tools/setup_env.sh installs it)')

# torch (and any mm* package) cannot be imported in this interpreter
CHILD = textwrap.dedent('''
    import json, sys
    for name in ('torch', 'torchvision', 'mmcv', 'mmengine', 'mmpose'):
        sys.modules[name] = None
    import numpy as np
    from simdr_runtime import OnnxPoseRuntime
    args = json.loads(sys.argv[1])
    runtime = OnnxPoseRuntime(args['onnx'], batch_size=4, num_threads=1)
    boxes = [np.array(b, np.float32) for b in args['boxes']]
    results = runtime(args['images'], boxes)
    np.save(args['out'], np.concatenate([r['keypoints'] for r in results]))
    print(json.dumps(runtime.metadata['precision']))
''')


@pytest.mark.slow
def test_runtime_runs_an_int8_export_without_torch(pose_model_factory,
                                                   bundled_detections,
                                                   repo_root, tmp_path):
    from simdr_ext.deploy import export_onnx
    from simdr_ext.deploy.quantize import bundled_crops
    model = pose_model_factory('simdr')
    onnx_file = str(tmp_path / 'int8.onnx')
    export_onnx(model, onnx_file, precision='int8',
                calibration=bundled_crops(('coco', ), (96, 128)))
    paths = list(bundled_detections)[:2]
    boxes = [bundled_detections[p] for p in paths]
    out = tmp_path / 'kpts.npy'
    args = dict(onnx=onnx_file, images=paths, out=str(out),
                boxes=[b.tolist() for b in boxes])
    proc = subprocess.run([sys.executable, '-c', CHILD, json.dumps(args)],
                          cwd=repo_root, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == 'int8'
    got = np.load(out)
    assert got.shape == (sum(len(b) for b in boxes), 17, 2)
    assert np.isfinite(got).all()
