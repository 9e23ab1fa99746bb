# Copyright (c) simdr_ext contributors. All rights reserved.
"""Two-process training on CPU: gloo + DDP without device ids."""
import json
import os
import os.path as osp
import socket
import subprocess

import torch


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_two_processes_share_the_data_and_end_with_equal_weights(
        tmp_path, python, repo_root, quickstart_config):
    cfg = tmp_path / 'dist_cfg.py'
    cfg.write_text(f'''
_base_ = [{quickstart_config!r}]
custom_imports = dict(imports=['simdr_ext', 'dist_probe'],
                      allow_failed_imports=False)
custom_hooks = [dict(type='RecordRankHook')]
train_cfg = dict(max_epochs=2, val_interval=100)
train_dataloader = dict(batch_size=3, num_workers=0,
                        persistent_workers=False)
val_dataloader = dict(num_workers=0, persistent_workers=False)
default_hooks = dict(checkpoint=dict(interval=100))
''')
    env = dict(os.environ, PYTHON=python, PORT=str(free_port()),
               PYTHONPATH=osp.join(repo_root, 'tests', 'helpers'))
    proc = subprocess.run(
        ['bash', 'tools/dist_train.sh',
         str(cfg), '2', '--work-dir',
         str(tmp_path / 'work')],
        cwd=repo_root, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert 'CPUDistributedDataParallel' in proc.stdout + proc.stderr
    seen = [json.loads((tmp_path / 'work' / f'rank{r}.json').read_text())
            for r in range(2)]
    # 12 people, 2 epochs, each rank 2 iterations x 3 per epoch
    assert len(seen[0]) == len(seen[1]) == 12
    for epoch in range(2):
        a = set(seen[0][epoch * 6:(epoch + 1) * 6])
        b = set(seen[1][epoch * 6:(epoch + 1) * 6])
        assert not a & b, f'epoch {epoch}: both ranks trained on {a & b}'
        assert len(a | b) == 12
    w0, w1 = (torch.load(tmp_path / 'work' / f'rank{r}.pth')
              for r in range(2))
    assert w0.keys() == w1.keys()
    assert len(w0) > 50  # every parameter of ResNet-18 + head
    for k in w0:
        assert torch.equal(w0[k], w1[k]), f'{k} differs between ranks'
