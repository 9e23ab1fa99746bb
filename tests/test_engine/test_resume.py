# Copyright (c) simdr_ext contributors. All rights reserved.
"""A run killed with SIGKILL mid-epoch and resumed ends where an
uninterrupted run ends, to the bit."""
import os
import os.path as osp
import signal
import subprocess

import torch

EPOCHS = 4


def write_config(path, base):
    path.write_text(f'''
_base_ = [{base!r}]
randomness = dict(seed=7, deterministic=True)
train_cfg = dict(max_epochs={EPOCHS}, val_interval=100)
# 12 people / 4 = 3 iterations an epoch
train_dataloader = dict(batch_size=4, num_workers=0,
                        persistent_workers=False)
val_dataloader = dict(num_workers=0, persistent_workers=False)
default_hooks = dict(checkpoint=dict(interval=1),
                     logger=dict(interval=1))
''')
    return str(path)


def train_cmd(python, cfg, work, *extra):
    return [python, 'tools/train.py', cfg, '--work-dir', str(work), *extra]


def final_state(work):
    return torch.load(
        osp.join(work, f'epoch_{EPOCHS}.pth'),
        weights_only=True)['state_dict']


def test_sigkill_then_resume_equals_uninterrupted(tmp_path, python,
                                                  repo_root,
                                                  quickstart_config):
    cfg = write_config(tmp_path / 'cfg.py', quickstart_config)
    full, killed = tmp_path / 'full', tmp_path / 'killed'
    proc = subprocess.run(
        train_cmd(python, cfg, full), cwd=repo_root, capture_output=True,
        text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]

    # second run: SIGKILL in the middle of epoch 3 (after epoch_2.pth)
    run = subprocess.Popen(
        train_cmd(python, cfg, killed), cwd=repo_root,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log = []
    for line in run.stdout:
        log.append(line)
        if 'Epoch(train) [3][2/3]' in line:
            run.send_signal(signal.SIGKILL)
            break
    run.wait(timeout=60)
    assert run.returncode == -signal.SIGKILL, ''.join(log[-30:])
    assert not (killed / f'epoch_{EPOCHS}.pth').exists()
    # the latest checkpoint named by last_checkpoint is complete
    latest = (killed / 'last_checkpoint').read_text().strip()
    torch.load(latest, weights_only=True)

    proc = subprocess.run(
        train_cmd(python, cfg, killed, '--resume'), cwd=repo_root,
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'resumed epoch: 2' in proc.stdout + proc.stderr

    a, b = final_state(full), final_state(killed)
    assert a.keys() == b.keys()
    diff = max((a[k].double() - b[k].double()).abs().max().item()
               for k in a if a[k].is_floating_point())
    print(f'max |weights(resumed) - weights(uninterrupted)| = {diff}')
    assert diff == 0.0


def test_kill_while_saving_with_max_keep_ckpts_1_keeps_a_checkpoint(
        tmp_path, python, repo_root, quickstart_config):
    """SIGKILL half way through writing epoch_2's file, with one checkpoint
    kept: epoch_1.pth survives and ``last_checkpoint`` names it; an empty
    ``last_checkpoint`` (a kill between its open and write) and a partial
    ``.tmp`` do not stop ``--resume``."""
    probes = osp.join(repo_root, 'tests', 'test_engine', 'probes')
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(f'''
_base_ = [{quickstart_config!r}]
custom_imports = dict(imports=['simdr_ext', 'kill_in_save'],
                      allow_failed_imports=False)
train_cfg = dict(max_epochs=3, val_interval=100)
train_dataloader = dict(num_workers=0, persistent_workers=False)
val_dataloader = dict(num_workers=0, persistent_workers=False)
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=1))
''')
    work = tmp_path / 'work'
    env = dict(os.environ, PYTHONPATH=probes, KILL_IN_SAVE='epoch_2.pth')
    proc = subprocess.run(
        train_cmd(python, str(cfg), work), cwd=repo_root, env=env,
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]
    assert (work / 'last_checkpoint').read_text().strip() == \
        str(work / 'epoch_1.pth')
    assert torch.load(work / 'epoch_1.pth',
                      weights_only=True)['meta']['epoch'] == 1
    assert not (work / 'epoch_2.pth').exists()

    (work / 'last_checkpoint').write_text('')
    env['KILL_IN_SAVE'] = ''
    proc = subprocess.run(
        train_cmd(python, str(cfg), work, '--resume'), cwd=repo_root,
        env=env, capture_output=True, text=True, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert 'resuming from the newest complete checkpoint' in out
    assert 'resumed epoch: 1' in out
    assert sorted(p.name for p in work.glob('*.pth*')) == ['epoch_3.pth']
    assert (work / 'last_checkpoint').read_text() == str(work / 'epoch_3.pth')
