# Copyright (c) simdr_ext contributors. All rights reserved.
"""ONNX export with the decoder inside the graph: onnxruntime agrees with
PyTorch on real crops for SimDR, SimDR* and DARK models."""
import os.path as osp

import pytest
import torch

pytest.importorskip(
    'onnxruntime', reason='onnxruntime is an optional extra '
    '(requirements/onnx.txt; tools/setup_env.sh installs it)')

from simdr_ext.deploy import export_onnx  # noqa: E402
from tools.deploy.export_onnx import (compare_with_onnxruntime,  # noqa: E402
                                      export_and_check, real_crops)


@pytest.mark.parametrize('kind', ['simdr', 'sasimdr', 'dark'])
def test_onnxruntime_matches_pytorch_on_real_crops(kind, tmp_path,
                                                   repo_root,
                                                   pose_model_factory,
                                                   request):
    # SimDR trained; SimDR* and DARK seeded random weights: the decoding
    # path is what is checked
    model = pose_model_factory(kind, request.getfixturevalue(
        'trained_quickstart') if kind == 'simdr' else None)
    coco = osp.join(repo_root, 'tests', 'data', 'coco')
    crops = real_crops(model.cfg, coco, osp.join(coco, 'test_coco.json'), 6)
    onnx_file = str(tmp_path / 'm.onnx')
    result = compare_with_onnxruntime(export_onnx(model, onnx_file),
                                      onnx_file, crops)
    print(f'{kind}: {result}')
    assert crops.shape == (6, 3, 128, 96)
    # same float32 network on both sides: outputs differ by rounding only;
    # keypoints are bins / k (SimDR) or sub-pixel refinements, so any
    # disagreement in an argmax would show as >= 1 / k px
    assert result['max_abs_keypoints'] < 1e-3
    assert result['max_abs_scores'] < 1e-4


@pytest.mark.parametrize('value', ['0', '-3'])
def test_export_refuses_no_crops(value, python, repo_root, quickstart_config,
                                 tmp_path):
    import subprocess
    proc = subprocess.run([
        python, 'tools/deploy/export_onnx.py', quickstart_config, 'none',
        '--out',
        str(tmp_path / 'm.onnx'), '--max-crops', value
    ],
                          cwd=repo_root,
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert 'at least 1 crop is needed' in proc.stderr
    assert 'Traceback' not in proc.stderr
    assert not (tmp_path / 'm.onnx').exists()


def test_export_writes_the_runtime_metadata(tmp_path, repo_root,
                                            quickstart_config):
    import onnx
    coco = osp.join(repo_root, 'tests', 'data', 'coco')
    torch.manual_seed(0)
    result = export_and_check(quickstart_config, None,
                              str(tmp_path / 'm.onnx'), coco,
                              osp.join(coco, 'test_coco.json'), max_crops=2,
                              flip_test=True)
    assert result['max_abs_keypoints'] < 1e-3
    meta = {p.key: p.value
            for p in onnx.load(str(tmp_path / 'm.onnx')).metadata_props}
    assert meta['simdr.input_size'] == '[96, 128]'
    assert meta['simdr.flip_test'] == 'true'
    assert meta['simdr.padding'] == '1.25'
    assert meta['simdr.decoder'] == '"SimDRLabel"'
    with pytest.raises(ValueError, match='max_crops must be a positive'):
        export_and_check(quickstart_config, None, str(tmp_path / 'n.onnx'),
                         coco, osp.join(coco, 'test_coco.json'),
                         max_crops=0)


def test_export_reads_the_annotation_file_with_the_config_metainfo(
        tmp_path, repo_root, quickstart_config):
    from simdr_ext.datasets import DataFileError
    custom = osp.join(repo_root, 'configs', 'custom',
                      'simdr_res18_1xb12-300e_custom5-128x96.py')
    coco = osp.join(repo_root, 'tests', 'data', 'coco')
    ann_file = osp.join(repo_root, 'tests', 'data', 'custom5',
                        'annotations.json')
    torch.manual_seed(0)
    # the user's own 5-keypoint file, given explicitly, images elsewhere
    result = export_and_check(custom, None, str(tmp_path / 'c5.onnx'),
                              image_folder=coco, ann_file=ann_file,
                              max_crops=2)
    assert result['num_crops'] == 2
    assert result['max_abs_keypoints'] < 1e-3
    # a 17-keypoint model refuses the 5-keypoint file, naming both counts
    with pytest.raises(DataFileError,
                       match='has 5 keypoints, the data set has 17'):
        export_and_check(quickstart_config, None, str(tmp_path / 'q.onnx'),
                         image_folder=coco, ann_file=ann_file, max_crops=1)


def test_mim_run_export_from_another_folder_uses_the_bundled_people(
        tmp_path, quickstart_config):
    """No --images/--ann-file: the quickstart's test data is the bundled
    COCO file, found relative to the package, not to the current folder."""
    import subprocess
    import sys
    mim = osp.join(osp.dirname(sys.executable), 'mim')
    proc = subprocess.run([
        mim, 'run', 'simdr_ext', 'export_onnx', quickstart_config, 'none',
        '--out', 'q.onnx', '--max-crops', '1'
    ], cwd=str(tmp_path), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert osp.join('coco', 'test_coco.json') in proc.stdout
    assert 'on 1 real crops' in proc.stdout
    assert (tmp_path / 'q.onnx').is_file()
