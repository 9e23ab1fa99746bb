# Copyright (c) simdr_ext contributors. All rights reserved.
"""ONNX export with the decoder inside the graph: onnxruntime agrees with
PyTorch on real crops for SimDR, SimDR* and DARK models."""
import os.path as osp

import pytest
import torch

pytest.importorskip(
    'onnxruntime', reason='onnxruntime is an optional extra '
    '(requirements/onnx.txt; tools/setup_env.sh installs it)')

from tools.deploy.export_onnx import export_and_check  # noqa: E402

SASIMDR = '''
_base_ = [{base!r}]
codec = dict(_delete_=True, type='SASimDRLabel', input_size=(96, 128),
             split_ratio=2.0, sigma=4.0, decode_refine=True)
model = dict(head=dict(decoder=codec,
                       loss=dict(type='SimDRKLLoss', use_target_weight=True)))
'''

DARK = '''
_base_ = [{base!r}]
# the head is replaced whole (_delete_), so the codec needs no _delete_
codec = dict(type='DarkHeatmap', input_size=(96, 128), heatmap_size=(24, 32),
             sigma=2.0, decode_mode='dark', blur_kernel_size=11)
model = dict(head=dict(_delete_=True, type='HeatmapHead', in_channels=512,
                       out_channels=17, deconv_out_channels=(128, 128, 128),
                       deconv_kernel_sizes=(4, 4, 4),
                       loss=dict(type='KeypointMSELoss',
                                 use_target_weight=True),
                       decoder=codec))
'''


def derived(tmp_path, template, base):
    path = tmp_path / 'cfg.py'
    path.write_text(template.format(base=base))
    return str(path)


@pytest.mark.parametrize('kind', ['simdr', 'sasimdr', 'dark'])
def test_onnxruntime_matches_pytorch_on_real_crops(kind, tmp_path,
                                                   repo_root,
                                                   quickstart_config,
                                                   request):
    if kind == 'simdr':
        config = quickstart_config
        ckpt = request.getfixturevalue('trained_quickstart')
    else:  # seeded random weights: the decoding path is what is checked
        config = derived(tmp_path, SASIMDR if kind == 'sasimdr' else DARK,
                         quickstart_config)
        ckpt = None
        torch.manual_seed(0)
    coco = osp.join(repo_root, 'tests', 'data', 'coco')
    result = export_and_check(config, ckpt, str(tmp_path / 'm.onnx'), coco,
                              osp.join(coco, 'test_coco.json'), max_crops=6)
    print(f'{kind}: {result}')
    assert result['num_crops'] == 6
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
