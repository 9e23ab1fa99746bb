# Copyright (c) simdr_ext contributors. All rights reserved.
"""tools/analysis/precision_parity.py: bf16 against float32 on a peaked
model, and what the batched API says about bf16 on this CPU."""
import json

import pytest
import torch

from simdr_ext.apis import BatchedTopdownInferencer
from simdr_ext.apis.batched_inferencer import cpu_has_native_bf16
from tools.analysis import precision_parity


def test_bf16_refusal_and_the_tools_note(pose_model_factory, tmp_path):
    model = pose_model_factory('simdr')
    ref, test, note = precision_parity.path_inferers(
        'bf16-torch', precision_parity.QUICKSTART_CONFIG, None, model,
        str(tmp_path), False)
    if cpu_has_native_bf16():
        assert note == 'torch CPU autocast bfloat16'
        return
    capability = torch.backends.cpu.get_cpu_capability()
    with pytest.raises(ValueError) as err:
        BatchedTopdownInferencer(model, precision='bf16')
    assert str(err.value).startswith(
        "precision='bf16' on CPU needs native bfloat16 (AVX512-BF16 or AMX "
        'on x86); this CPU has none (torch.ops.mkldnn.'
        '_is_mkldnn_bf16_supported() = False, CPU capability '
        f'{capability}), so bfloat16 would run emulated, slower than '
        "float32; use precision='fp32'")
    assert 'emulated: this CPU has no native bfloat16' in note
    assert capability in note


@pytest.mark.slow
def test_bf16_meets_the_goal_on_a_peaked_model(peaked_checkpoint, tmp_path,
                                               capsys):
    out = tmp_path / 'parity.json'
    assert precision_parity.main([
        '--checkpoint', peaked_checkpoint, '--paths', 'bf16-torch',
        '--json', str(out)
    ]) == 0
    text = capsys.readouterr().out
    report = json.loads(out.read_text())
    entry = report['paths']['bf16-torch']
    coco = entry['coco']
    print(text)
    # the goals: >= 99 % of keypoints within 0.5 input px, |dAP| <= 0.01
    assert coco['keypoints'] >= 12 * 17
    assert coco['within_0_5'] >= 0.99
    assert abs(coco['ap'] - coco['ap_fp32']) <= 0.01
    assert coco['ap_fp32'] > 0.5, 'the model must be peaked'
    assert entry['goals_met'] == dict(within_0_5=True, dap=True)
    for name in ('crowdpose', 'mpii'):
        assert 0 <= entry[name]['within_0_25'] <= entry[name][
            'within_0_5'] <= 1
        assert 'ap' not in entry[name]
    assert report['cpu']['native_bf16'] == cpu_has_native_bf16()
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines)
                  if line.startswith('path '))
    assert lines[header].split() == [
        'path', 'data', 'kpts', '<=0.25px', '<=0.5px', 'max', 'px', 'max',
        'dscore', 'AP', 'fp32', 'AP', 'dAP'
    ]
    rows = [line.split() for line in lines[header + 1:header + 4]]
    assert [r[:2] for r in rows] == [['bf16-torch', 'coco'],
                                     ['bf16-torch', 'crowdpose'],
                                     ['bf16-torch', 'mpii']]
    assert rows[0][4] == f'{100 * coco["within_0_5"]:.2f}%'
    assert (f'>= 99% within 0.5 px on COCO: met '
            f'({100 * coco["within_0_5"]:.2f}%); |dAP| <= 0.01: met') in text
