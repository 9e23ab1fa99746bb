# Copyright (c) simdr_ext contributors. All rights reserved.
"""Two-process training on CPU: gloo + DDP without device ids."""
import json
import os
import os.path as osp
import socket
import subprocess

import pytest
import torch


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def dist_config(tmp_path, quickstart_config, batch_size=6,
                checkpoint_interval=1):
    """The quickstart for 2 epochs, recording each rank's samples and
    weights (tests/helpers/dist_probe.py)."""
    cfg = tmp_path / 'dist_cfg.py'
    cfg.write_text(f'''
_base_ = [{quickstart_config!r}]
custom_imports = dict(imports=['simdr_ext', 'dist_probe'],
                      allow_failed_imports=False)
custom_hooks = [dict(type='RecordRankHook')]
randomness = dict(seed=0)
train_cfg = dict(max_epochs=2, val_interval=100)
train_dataloader = dict(batch_size={batch_size}, num_workers=0,
                        persistent_workers=False)
val_dataloader = dict(num_workers=0, persistent_workers=False)
default_hooks = dict(checkpoint=dict(interval={checkpoint_interval}))
''')
    return str(cfg)


def test_two_processes_share_the_data_and_end_with_equal_weights(
        tmp_path, python, repo_root, quickstart_config):
    cfg = dist_config(tmp_path, quickstart_config, batch_size=3,
                      checkpoint_interval=100)
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
    # BatchNorm running statistics stay per rank (README): each rank saw
    # other people
    b0, b1 = (torch.load(tmp_path / 'work' / f'rank{r}_buffers.pth')
              for r in range(2))
    stats = [k for k in b0 if 'running_mean' in k]
    assert stats and any(not torch.equal(b0[k], b1[k]) for k in stats)


@pytest.mark.slow
def test_two_nodes_over_c10d_then_resume_with_one_process(
        tmp_path, python, repo_root, quickstart_config):
    """Two launchers, one process each, meet through torchrun's c10d
    rendezvous on 127.0.0.1 as two nodes would; both ranks end with the same
    weights. The run's checkpoint then resumes in a single process."""
    cfg = dist_config(tmp_path, quickstart_config)
    work = tmp_path / 'work'
    env = dict(os.environ, PYTHON=python, NNODES='2',
               RDZV_ENDPOINT=f'127.0.0.1:{free_port()}', RDZV_ID='loopback',
               PYTHONPATH=osp.join(repo_root, 'tests', 'helpers'))
    nodes = [
        subprocess.Popen(['bash', 'tools/dist_train.sh', cfg, '1',
                          '--work-dir', str(work)],
                         cwd=repo_root, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
        for _ in range(2)
    ]
    logs = [node.communicate(timeout=600)[0] for node in nodes]
    for node, log in zip(nodes, logs):
        assert node.returncode == 0, log[-3000:]
    w0, w1 = (torch.load(work / f'rank{r}.pth') for r in range(2))
    assert w0.keys() == w1.keys() and len(w0) > 50
    for k in w0:
        assert torch.equal(w0[k], w1[k]), f'{k} differs between ranks'
    saved = torch.load(work / 'epoch_2.pth', weights_only=True)
    assert saved['meta']['world_size'] == 2

    proc = subprocess.run(
        [python, 'tools/train.py', cfg, '--work-dir', str(work), '--resume',
         '--cfg-options', 'train_cfg.max_epochs=3'],
        cwd=repo_root, capture_output=True, text=True, timeout=600,
        env=dict(os.environ,
                 PYTHONPATH=osp.join(repo_root, 'tests', 'helpers')))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert 'resumed epoch: 2' in out
    assert 'was written by a run with 2 processes; this run has 1' in out
    assert torch.load(work / 'epoch_3.pth',
                      weights_only=True)['meta']['epoch'] == 3


@pytest.mark.slow
def test_two_process_test_gives_the_metrics_of_one_process(
        tmp_path, python, repo_root, quickstart_config, trained_quickstart):
    """The 118 bundled detections are split between two processes and the
    results gathered: the metrics are exactly those of one process."""
    dets = osp.join(repo_root, 'tests', 'data', 'coco',
                    'test_coco_det_AP_H_56.json')
    options = [
        '--cfg-options', f'test_dataloader.dataset.bbox_file={dets}',
        'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False'
    ]
    one = subprocess.run(
        [python, 'tools/test.py', quickstart_config, trained_quickstart,
         '--work-dir', str(tmp_path / 'one'), '--out',
         str(tmp_path / 'one.json')] + options,
        cwd=repo_root, capture_output=True, text=True, timeout=600)
    assert one.returncode == 0, one.stderr[-3000:]
    env = dict(os.environ, PYTHON=python, PORT=str(free_port()))
    two = subprocess.run(
        ['bash', 'tools/dist_test.sh', quickstart_config, trained_quickstart,
         '2', '--work-dir', str(tmp_path / 'two'), '--out',
         str(tmp_path / 'two.json')] + options,
        cwd=repo_root, env=env, capture_output=True, text=True, timeout=600)
    out = two.stdout + two.stderr
    assert two.returncode == 0, out[-3000:]
    assert 'Epoch(test) [5/5]' in out  # 59 detections a process at 12
    a = json.loads((tmp_path / 'one.json').read_text())
    b = json.loads((tmp_path / 'two.json').read_text())
    print('1 process:', a, '\n2 processes:', b)
    assert a['coco/AP'] > 0.1
    assert a == b


@pytest.mark.slow
def test_slurm_train_script_starts_the_tasks_srun_describes(
        tmp_path, python, repo_root, quickstart_config):
    """``tools/slurm_train.sh`` and ``slurm_test.sh`` through a stand-in
    ``srun`` that starts the requested tasks with the variables slurm sets
    (``SLURM_PROCID``, ...)."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    srun = bin_dir / 'srun'
    srun.write_text('''#!/usr/bin/env bash
echo "srun $*" > "$SRUN_LOG"
ntasks=1
while [ $# -gt 0 ]; do
    case $1 in
        --ntasks=*) ntasks=${1#--ntasks=}; shift ;;
        -p) shift 2 ;;
        -*) shift ;;
        *) break ;;
    esac
done
pids=()
for ((i = 0; i < ntasks; i++)); do
    SLURM_PROCID=$i SLURM_LOCALID=$i SLURM_NTASKS=$ntasks \\
        SLURM_NODELIST=localhost "$@" & pids+=($!)
done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
exit $rc
''')
    srun.chmod(0o755)
    cfg = dist_config(tmp_path, quickstart_config)
    env = dict(os.environ, PATH=f'{bin_dir}:{os.environ["PATH"]}',
               SRUN_LOG=str(tmp_path / 'srun.txt'), GPUS='2',
               GPUS_PER_NODE='2', PYTHON=python, MASTER_ADDR='127.0.0.1',
               MASTER_PORT=str(free_port()),
               PYTHONPATH=osp.join(repo_root, 'tests', 'helpers'))
    work = tmp_path / 'work'
    proc = subprocess.run(
        ['bash', 'tools/slurm_train.sh', 'cpu', 'loopback', cfg,
         str(work), '--cfg-options', 'train_cfg.max_epochs=1'],
        cwd=repo_root, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    srun_args = (tmp_path / 'srun.txt').read_text()
    for arg in ('-p cpu', '--job-name=loopback', '--gres=gpu:2',
                '--ntasks=2', '--ntasks-per-node=2', '--launcher=slurm'):
        assert arg in srun_args
    w0, w1 = (torch.load(work / f'rank{r}.pth') for r in range(2))
    for k in w0:
        assert torch.equal(w0[k], w1[k]), f'{k} differs between ranks'

    env['MASTER_PORT'] = str(free_port())
    proc = subprocess.run(
        ['bash', 'tools/slurm_test.sh', 'cpu', 'loopback-test', cfg,
         str(work / 'epoch_1.pth'), '--work-dir', str(tmp_path / 'test'),
         '--out', str(tmp_path / 'metrics.json')],
        cwd=repo_root, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert '--job-name=loopback-test' in (tmp_path / 'srun.txt').read_text()
    metrics = json.loads((tmp_path / 'metrics.json').read_text())
    assert 0.0 <= metrics['coco/AP'] <= 1.0
