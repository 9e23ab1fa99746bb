# Copyright (c) simdr_ext contributors. All rights reserved.
"""The inference API after installation: from a wheel, in a fresh
interpreter with the repository off ``sys.path``; and the editable
install, which gives other projects ``simdr_ext`` but not this
repository's ``tools`` or ``demo``."""
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

#: Not copied into the wheel's build tree (built or local files).
IGNORED = shutil.ignore_patterns('.git', '.venv', 'build', 'dist',
                                 '*.egg-info', '.mim', '__pycache__',
                                 'work_dirs', '*.pth', '*.onnx',
                                 '.pytest_cache', '.hypothesis')

WHEEL_RUN = r'''
import os, sys
import numpy as np
import torch
import simdr_ext
from simdr_ext.apis import estimate_poses
assert simdr_ext.__file__.startswith(sys.argv[1]), simdr_ext.__file__
assert not any(os.path.realpath(p) == os.path.realpath(sys.argv[2])
               for p in sys.path), sys.path
mim = os.path.join(os.path.dirname(simdr_ext.__file__), '.mim')
config = os.path.join(mim, 'configs', 'quickstart',
                      'simdr_res18_1xb12-300e_coco-mini-128x96.py')
image = os.path.join(mim, 'tests', 'data', 'coco', '000000196141.jpg')
torch.manual_seed(0)
res = estimate_poses(config, None, image, boxes=[[120, 60, 330, 420]],
                     device='cpu')[0]
assert res['keypoints'].shape == (1, 17, 2), res['keypoints'].shape
assert np.isfinite(res['keypoints']).all()
print('installed poses', res['keypoints'].shape, simdr_ext.__file__)
'''


def clean_env():
    env = dict(os.environ)
    env.pop('PYTHONPATH', None)
    return env


def test_wheel_serves_the_inference_api(tmp_path, repo_root):
    src = tmp_path / 'src'
    shutil.copytree(repo_root, src, ignore=IGNORED, symlinks=True)
    wheels, site = tmp_path / 'wheels', tmp_path / 'site'
    pip = [sys.executable, '-m', 'pip', '--disable-pip-version-check']
    proc = subprocess.run(
        pip + ['wheel', '--no-deps', '--no-build-isolation', '-w',
               str(wheels), '.'],
        cwd=src, capture_output=True, text=True, timeout=600,
        env=clean_env())
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    wheel, = wheels.glob('simdr_ext-*.whl')
    proc = subprocess.run(
        pip + ['install', '--no-deps', '--no-index', '--target', str(site),
               str(wheel)],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
        env=clean_env())
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    # only the packages are top level: no tools, demo, tests or configs
    top = {p.name for p in site.iterdir() if not p.name.endswith(
        ('.dist-info', '__pycache__'))}
    assert top == {'simdr_ext', 'simdr_runtime'}, top
    run_dir = tmp_path / 'elsewhere'
    run_dir.mkdir()
    env = clean_env()
    env['PYTHONPATH'] = str(site)
    proc = subprocess.run(
        [sys.executable, '-c', WHEEL_RUN, str(site), repo_root],
        cwd=run_dir, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'installed poses (1, 17, 2)' in proc.stdout


def test_installed_env_hides_tools_and_demo(tmp_path, repo_root):
    code = r'''
import importlib, sys
import simdr_ext, simdr_runtime
print('simdr_ext', simdr_ext.__file__)
for name in ('tools', 'demo'):
    try:
        mod = importlib.import_module(name)
    except ModuleNotFoundError:
        print(name, 'not found')
    else:
        print(name, mod.__file__)
'''
    proc = subprocess.run([sys.executable, '-c', code], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300,
                          env=clean_env())
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = dict(line.split(' ', 1) for line in proc.stdout.splitlines())
    assert lines['tools'] == 'not found', lines
    assert lines['demo'] == 'not found', lines
    # simdr_ext is this tree's (through the editable install's links)
    assert osp.realpath(lines['simdr_ext']).startswith(
        osp.realpath(repo_root) + os.sep), lines
