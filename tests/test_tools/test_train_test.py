# Copyright (c) simdr_ext contributors. All rights reserved.
"""tools/train.py, --resume and tools/test.py on the bundled images.

Each step runs as a separate process, as a user would run it, so checkpoint
loading goes through torch.load(weights_only=True) in a fresh interpreter.
"""
import json
import os.path as osp
import subprocess

import pytest
import torch

SHORT = [
    '--cfg-options', 'train_cfg.max_epochs={}', 'train_cfg.val_interval=100',
    'default_hooks.checkpoint.interval=1', 'default_hooks.logger.interval=1',
    'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'val_dataloader.persistent_workers=False'
]


def short(epochs):
    return [a.format(epochs) for a in SHORT]


def run(cmd, cwd):
    proc = subprocess.run(
        cmd, cwd=cwd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (
        f'{" ".join(cmd)} failed:\n{proc.stdout[-3000:]}\n'
        f'{proc.stderr[-3000:]}')
    return proc.stdout + proc.stderr


@pytest.fixture(scope='module')
def trained(tmp_path_factory, python, repo_root, quickstart_config):
    work = tmp_path_factory.mktemp('train')
    run([
        python, 'tools/train.py', quickstart_config, '--work-dir',
        str(work)
    ] + short(2), repo_root)
    return work


def test_train_writes_loadable_checkpoints(trained):
    assert osp.isfile(trained / 'epoch_2.pth')
    # loads with weights_only=True once simdr_ext has allow-listed what
    # mmengine writes; without the allow-list torch refuses it
    import simdr_ext  # noqa: F401
    ckpt = torch.load(trained / 'epoch_2.pth', weights_only=True)
    assert ckpt['meta']['epoch'] == 2
    assert any(k.startswith('head.mlp_head_x') for k in ckpt['state_dict'])


def test_resume_continues_from_the_checkpoint(trained, python, repo_root,
                                              quickstart_config):
    out = run([
        python, 'tools/train.py', quickstart_config, '--work-dir',
        str(trained), '--resume',
        str(trained / 'epoch_2.pth')
    ] + short(3), repo_root)
    assert 'resumed epoch: 2' in out
    assert osp.isfile(trained / 'epoch_3.pth')


def test_test_tool_prints_and_writes_ap(trained, python, repo_root,
                                        quickstart_config, tmp_path):
    metrics_file = tmp_path / 'metrics.json'
    out = run([
        python, 'tools/test.py', quickstart_config,
        str(trained / 'epoch_2.pth'), '--work-dir',
        str(tmp_path), '--out',
        str(metrics_file), '--cfg-options', 'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False'
    ], repo_root)
    assert 'coco/AP' in out
    metrics = json.loads(metrics_file.read_text())
    assert 0.0 <= metrics['coco/AP'] <= 1.0


def test_mim_train_and_test_from_another_directory(tmp_path, python,
                                                   quickstart_config):
    """mim finds the config by bare name and simdr_ext's tools via .mim."""
    mim = osp.join(osp.dirname(python), 'mim')
    name = osp.basename(quickstart_config)
    run([
        mim, 'train', 'simdr_ext', name, '--work-dir',
        str(tmp_path / 'w')
    ] + short(1), str(tmp_path))
    ckpt = tmp_path / 'w' / 'epoch_1.pth'
    assert ckpt.is_file()
    out = run([
        mim, 'test', 'simdr_ext', name, '-C',
        str(ckpt), '--work-dir',
        str(tmp_path / 't'), '--cfg-options', 'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False'
    ], str(tmp_path))
    assert 'coco/AP' in out


def run_fails(cmd, cwd):
    proc = subprocess.run(
        cmd, cwd=cwd, capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0, proc.stdout[-3000:]
    return proc.stdout + proc.stderr


def resume_cmd(python, config, work, ckpt, *options):
    return [
        python, 'tools/train.py', config, '--work-dir',
        str(work), '--resume',
        str(ckpt)
    ] + short(3) + list(options)


def test_resume_with_another_optimizer_says_what_differs(
        trained, python, repo_root, quickstart_config, tmp_path):
    out = run_fails(
        resume_cmd(python, quickstart_config, tmp_path,
                   trained / 'epoch_2.pth',
                   'optim_wrapper.optimizer.type=SGD'), repo_root)
    assert 'the optimizer of this config (SGD) differs' in out
    assert "has settings ['amsgrad', 'betas', 'eps']" in out
    assert f'load_from={trained / "epoch_2.pth"} without --resume' in out


def test_resume_with_another_k_says_what_differs(
        trained, python, repo_root, quickstart_config, tmp_path):
    out = run_fails(
        resume_cmd(python, quickstart_config, tmp_path,
                   trained / 'epoch_2.pth',
                   'model.head.decoder.split_ratio=3.0',
                   'train_dataloader.dataset.codec.split_ratio=3.0',
                   'val_dataloader.dataset.codec.split_ratio=3.0'),
        repo_root)
    assert 'cannot resume: the model of this config differs' in out
    # k=3 on a 96-pixel-wide input: 288 bins instead of 192
    assert 'shape: head.mlp_head_x.weight checkpoint (192,' in out
    assert 'without --resume' in out


def test_resume_from_weights_only_says_to_use_load_from(
        trained, python, repo_root, quickstart_config, tmp_path):
    weights = tmp_path / 'weights.pth'
    state = torch.load(trained / 'epoch_2.pth',
                       weights_only=True)['state_dict']
    torch.save({'state_dict': state}, weights)
    out = run_fails(
        resume_cmd(python, quickstart_config, tmp_path / 'w', weights),
        repo_root)
    assert 'holds weights only, not a training state' in out
    assert f'load_from={weights} without --resume' in out


def test_resume_from_nan_weights_is_refused(trained, python, repo_root,
                                            quickstart_config, tmp_path):
    ckpt = torch.load(trained / 'epoch_2.pth', weights_only=True)
    ckpt['state_dict']['head.mlp_head_x.bias'][:] = float('nan')
    ckpt['meta'].pop('weights_sha256', None)  # as if from an older run
    bad = tmp_path / 'nan.pth'
    torch.save(ckpt, bad)
    out = run_fails(
        resume_cmd(python, quickstart_config, tmp_path / 'w', bad),
        repo_root)
    assert 'holds NaN or inf weights: head.mlp_head_x.bias' in out
    assert 'loss: nan' not in out


def test_a_diverging_loss_stops_training(python, repo_root,
                                         quickstart_config, tmp_path):
    out = run_fails([
        python, 'tools/train.py', quickstart_config, '--work-dir',
        str(tmp_path)
    ] + short(20) + ['optim_wrapper.optimizer.lr=1e30'], repo_root)
    assert 'FloatingPointError: non-finite loss at iteration' in out


def test_test_tool_refuses_a_bit_flipped_checkpoint(
        trained, python, repo_root, quickstart_config, tmp_path):
    import zipfile
    bad = tmp_path / 'flipped.pth'
    data = bytearray((trained / 'epoch_2.pth').read_bytes())
    with zipfile.ZipFile(trained / 'epoch_2.pth') as zf:
        info = max(zf.infolist(), key=lambda i: i.file_size)
    # inside the largest record (past its local header, <= 1 KiB long)
    data[info.header_offset + 1024 + info.file_size // 2] ^= 0x01
    bad.write_bytes(bytes(data))
    out = run_fails([
        python, 'tools/test.py', quickstart_config,
        str(bad), '--work-dir',
        str(tmp_path), '--cfg-options', 'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False'
    ], repo_root)
    assert f'{info.filename} fails its CRC-32 check' in out


HOLDS_LOCK = """
import fcntl, os, socket, sys, time
fd = os.open(os.path.join(sys.argv[1], '.simdr_ext.lock'),
             os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
os.write(fd, f'{socket.gethostname()} {os.getpid()}\\n'.encode())
print('locked', flush=True)
time.sleep(300)
"""


def test_a_second_training_run_in_a_work_dir_is_refused(
        python, repo_root, quickstart_config, tmp_path):
    """A run holding the work dir's lock (the kernel's flock, as
    ``WorkDirLock`` takes it) makes a second ``tools/train.py`` stop before
    writing anything, naming the holder."""
    owner = subprocess.Popen([python, '-c', HOLDS_LOCK, str(tmp_path)],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert owner.stdout.readline().strip() == 'locked'
        out = run_fails([
            python, 'tools/train.py', quickstart_config, '--work-dir',
            str(tmp_path)
        ] + short(1), repo_root)
    finally:
        owner.kill()
        owner.wait()
    assert f'is in use by another training run (pid {owner.pid}' in out
    assert not list(tmp_path.glob('*/*.log'))  # refused before any log
