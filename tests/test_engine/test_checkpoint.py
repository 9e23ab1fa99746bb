# Copyright (c) simdr_ext contributors. All rights reserved.
"""Checkpoints: found after any kill, refused when unsound.

The checkpoints here are real ones of the quickstart architecture (mmpose's
``TopdownPoseEstimator`` with a ResNet-18 and SimDR head), damaged the way
disks, diverged runs and mixed-up files damage them.
"""
import errno
import os
import zipfile

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from mmpose.registry import MODELS
from simdr_ext.engine.checkpoint import atomic_replace
from simdr_ext.engine import (CheckedRunner, CheckpointError,
                              NonFiniteLossHook, WorkDirLock,
                              find_resumable_checkpoint,
                              load_checked_checkpoint,
                              read_checked_checkpoint, weights_digest)


@pytest.fixture(scope='module')
def model(quickstart_config):
    init_default_scope('mmpose')
    return MODELS.build(Config.fromfile(quickstart_config).model)


def save(path, state, **meta):
    meta.setdefault('epoch', 1)
    meta.setdefault('iter', 1)
    torch.save({'meta': meta, 'state_dict': state,
                'message_hub': {}}, path)
    return str(path)


@pytest.fixture
def good(tmp_path, model):
    state = model.state_dict()
    return save(tmp_path / 'good.pth', state,
                weights_sha256=weights_digest(state))


def flip_bit_in_largest_record(path):
    """Flip one bit in the middle of the largest tensor record."""
    with zipfile.ZipFile(path) as zf:
        info = max(zf.infolist(), key=lambda i: i.file_size)
    with open(path, 'rb') as f:
        f.seek(info.header_offset + 26)
        n, m = (int.from_bytes(f.read(2), 'little') for _ in range(2))
    data_at = info.header_offset + 30 + n + m
    with open(path, 'r+b') as f:
        f.seek(data_at + info.file_size // 2)
        byte = f.read(1)[0]
        f.seek(-1, 1)
        f.write(bytes([byte ^ 0x10]))
    return info.filename


def test_a_sound_checkpoint_loads_and_sets_the_data_set_meta(good, model):
    model.dataset_meta = None
    torch.save(dict(torch.load(good, weights_only=True),
                    meta=dict(dataset_meta={'num_keypoints': 17})), good)
    load_checked_checkpoint(model, good)
    assert model.dataset_meta == {'num_keypoints': 17}


def test_a_flipped_bit_is_refused(good, model):
    # torch itself loads the damaged file without a word
    record = flip_bit_in_largest_record(good)
    torch.load(good, weights_only=True)
    with pytest.raises(CheckpointError, match=f'{record} fails its CRC-32'):
        load_checked_checkpoint(model, good)


def test_changed_weights_fail_the_recorded_checksum(good, model):
    ckpt = torch.load(good, weights_only=True)
    ckpt['state_dict']['head.mlp_head_x.weight'][0, 0] += 1e-3
    torch.save(ckpt, good)  # a valid zip again, CRCs recomputed
    with pytest.raises(CheckpointError, match='SHA-256 of its weights'):
        read_checked_checkpoint(good)


@pytest.mark.parametrize('value', [float('nan'), float('inf')])
def test_non_finite_weights_are_refused(tmp_path, model, value):
    state = model.state_dict()
    state['head.mlp_head_y.weight'] = state['head.mlp_head_y.weight'].clone()
    state['head.mlp_head_y.weight'][3, 5] = value
    path = save(tmp_path / 'nan.pth', state)
    with pytest.raises(CheckpointError,
                       match=r'NaN or inf weights: head.mlp_head_y.weight '
                       r'\(1 of'):
        load_checked_checkpoint(model, path)


def test_integer_weights_are_refused_not_cast(tmp_path, model):
    state = model.state_dict()
    w = state['backbone.conv1.weight']
    state['backbone.conv1.weight'] = (w * 100).to(torch.int64)
    path = save(tmp_path / 'int.pth', state)
    with pytest.raises(CheckpointError,
                       match='dtype: backbone.conv1.weight checkpoint '
                       'torch.int64 vs model torch.float32'):
        load_checked_checkpoint(model, path)


def test_another_architecture_is_refused(tmp_path, model,
                                         quickstart_config):
    cfg = Config.fromfile(quickstart_config)
    cfg.model.head.deconv_out_channels = (64, )
    cfg.model.head.deconv_kernel_sizes = (4, )
    other = MODELS.build(cfg.model)
    path = save(tmp_path / 'other.pth', other.state_dict())
    with pytest.raises(CheckpointError, match='does not fit this model'):
        load_checked_checkpoint(model, path)


def test_onnx_export_refuses_an_unsound_checkpoint(tmp_path, model,
                                                   quickstart_config,
                                                   repo_root):
    """The export builds the model and loads through the checked loader."""
    from tools.deploy.export_onnx import export_and_check
    state = model.state_dict()
    state['head.mlp_head_x.bias'] = state['head.mlp_head_x.bias'] * \
        float('nan')
    path = save(tmp_path / 'nan.pth', state)
    data = os.path.join(repo_root, 'tests', 'data', 'coco')
    with pytest.raises(CheckpointError, match='NaN or inf weights'):
        export_and_check(quickstart_config, path, str(tmp_path / 'm.onnx'),
                         data, os.path.join(data, 'test_coco.json'))
    assert not (tmp_path / 'm.onnx').exists()


def test_demo_refuses_an_unsound_checkpoint(tmp_path, good,
                                            quickstart_config, repo_root):
    from demo.topdown_demo import run_demo
    flip_bit_in_largest_record(good)
    img = os.path.join(repo_root, 'tests', 'data', 'coco',
                       '000000000785.jpg')
    with pytest.raises(CheckpointError, match='CRC-32'):
        run_demo(quickstart_config, good, img, str(tmp_path / "out"))


# -- finding the checkpoint to resume -------------------------------------


def make_run(tmp_path, model, epochs):
    for e in epochs:
        save(tmp_path / f'epoch_{e}.pth', {'w': torch.ones(1) * e}, epoch=e)
    return tmp_path


def test_resume_skips_an_empty_last_checkpoint(tmp_path, model):
    make_run(tmp_path, model, [1, 2])
    (tmp_path / 'last_checkpoint').write_text('')
    assert find_resumable_checkpoint(str(tmp_path)) == \
        str(tmp_path / 'epoch_2.pth')


def test_resume_skips_a_deleted_or_truncated_file(tmp_path, model):
    make_run(tmp_path, model, [1, 2, 10])
    data = (tmp_path / 'epoch_10.pth').read_bytes()
    (tmp_path / 'epoch_10.pth').write_bytes(data[:len(data) // 2])
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_11.pth'))
    assert find_resumable_checkpoint(str(tmp_path)) == \
        str(tmp_path / 'epoch_2.pth')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_1.pth'))
    assert find_resumable_checkpoint(str(tmp_path)) == \
        str(tmp_path / 'epoch_1.pth')


# -- saving ---------------------------------------------------------------


def bare_runner():
    runner = CheckedRunner.__new__(CheckedRunner)
    runner.model = torch.nn.Linear(2, 2)
    return runner


def test_a_full_disk_leaves_no_partial_file(tmp_path, monkeypatch):

    def disk_full(self, out_dir, filename, *args, **kwargs):
        (tmp_path / filename).write_bytes(b'PK\x03\x04 partial')
        raise OSError(errno.ENOSPC, 'No space left on device')

    monkeypatch.setattr(Runner, 'save_checkpoint', disk_full)
    with pytest.raises(OSError, match='No space left'):
        bare_runner().save_checkpoint(str(tmp_path), 'epoch_3.pth')
    assert list(tmp_path.iterdir()) == []


def test_saving_records_the_weights_checksum(tmp_path, monkeypatch):
    seen = {}

    def writes(self, out_dir, filename, *args, meta=None, **kwargs):
        seen.update(meta)
        torch.save({'state_dict': {}}, os.path.join(out_dir, filename))

    monkeypatch.setattr(Runner, 'save_checkpoint', writes)
    runner = bare_runner()
    runner.save_checkpoint(str(tmp_path), 'epoch_1.pth', meta={'epoch': 1})
    assert seen['weights_sha256'] == weights_digest(
        runner.model.state_dict())
    assert seen['world_size'] == 1


# -- one run per work dir -------------------------------------------------


class Holders:
    """``n`` forked processes that each try to take the work dir's lock at
    once, say whether they got it (``ok``) and hold it until
    :meth:`release`. Plain ``os.fork`` and pipes: nothing in the children
    takes a lock of the parent's threads."""

    def __init__(self, work_dir: str, n: int) -> None:
        self.pids, self.ok, self.go = [], [], []
        start_r, start_w = os.pipe()
        for _ in range(n):
            said_r, said_w = os.pipe()
            go_r, go_w = os.pipe()
            pid = os.fork()
            if pid == 0:  # child
                code = 0
                for fd in [go_w, said_r, start_w] + self.go:
                    os.close(fd)
                try:
                    os.read(start_r, 1)  # all start together
                    try:
                        WorkDirLock(work_dir).acquire()
                        os.write(said_w, b'1')
                    except RuntimeError:
                        os.write(said_w, b'0')
                    os.read(go_r, 1)
                except BaseException:
                    code = 1
                os._exit(code)
            os.close(said_w)
            os.close(go_r)
            self.pids.append(pid)
            self.go.append(go_w)
            self.ok.append(said_r)
        os.write(start_w, b'x' * n)
        self.ok = [os.read(fd, 1) == b'1' for fd in self.ok]

    def release(self) -> None:
        for fd in self.go:
            os.close(fd)  # EOF: the child reads and exits
        for pid in self.pids:
            os.waitpid(pid, 0)


def test_a_second_run_in_a_work_dir_is_refused_naming_the_holder(tmp_path):
    holder = Holders(str(tmp_path), 1)
    try:
        assert holder.ok == [True]
        with pytest.raises(RuntimeError,
                           match=f'in use by another training run \\(pid '
                           f'{holder.pids[0]}'):
            WorkDirLock(str(tmp_path)).acquire()
    finally:
        holder.release()
    with WorkDirLock(str(tmp_path)) as lock:  # released with its process
        assert lock.owned


def test_racing_runs_get_exactly_one_owner(tmp_path):
    """8 processes start at once, 25 times: one owner each time (an empty
    lock file read as a dead owner's gave two)."""
    for round_ in range(25):
        holders = Holders(str(tmp_path / str(round_)), 8)
        holders.release()
        assert sum(holders.ok) == 1, (round_, holders.ok)


def test_a_killed_runs_lock_is_free_and_its_partial_files_removed(tmp_path):
    import signal
    holder = Holders(str(tmp_path), 1)
    assert holder.ok == [True]
    os.kill(holder.pids[0], signal.SIGKILL)
    os.waitpid(holder.pids[0], 0)
    (tmp_path / 'epoch_7.pth.tmp').write_bytes(b'PK\x03\x04 partial')
    (tmp_path / 'epoch_8.pth.0123abcd.tmp').write_bytes(b'PK\x03\x04 p')
    (tmp_path / 'epoch_6.pth').write_bytes(b'kept')
    with WorkDirLock(str(tmp_path)) as lock:
        assert (tmp_path / '.simdr_ext.lock').read_text().split()[1] == \
            str(os.getpid())
        assert lock.owned
        assert not (tmp_path / 'epoch_7.pth.tmp').exists()
        assert not (tmp_path / 'epoch_8.pth.0123abcd.tmp').exists()
        assert (tmp_path / 'epoch_6.pth').exists()


# -- atomic writes ----------------------------------------------------------


def test_the_final_name_holds_the_old_file_until_the_new_one_is_complete(
        tmp_path):
    path = tmp_path / 'epoch_1.pth'
    path.write_bytes(b'old')

    def write(tmp):
        assert tmp != str(path)
        assert path.read_bytes() == b'old'  # nothing written there yet
        with open(tmp, 'wb') as f:
            f.write(b'new')

    atomic_replace(str(path), write)
    assert path.read_bytes() == b'new'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['epoch_1.pth']


@pytest.mark.parametrize('planted', ['epoch_1.pth', 'epoch_1.pth.tmp'])
def test_a_link_planted_in_the_work_dir_is_not_written_through(tmp_path,
                                                               planted):
    work, victim = tmp_path / 'work', tmp_path / 'victim.txt'
    work.mkdir()
    victim.write_text('precious')
    os.symlink(victim, work / planted)

    def write(tmp):
        with open(tmp, 'wb') as f:
            f.write(b'checkpoint')

    atomic_replace(str(work / 'epoch_1.pth'), write)
    assert victim.read_text() == 'precious'
    assert not (work / 'epoch_1.pth').is_symlink()
    assert (work / 'epoch_1.pth').read_bytes() == b'checkpoint'


def test_resume_ignores_a_last_checkpoint_outside_the_work_dir(tmp_path,
                                                               good):
    work = tmp_path / 'work'
    work.mkdir()
    (work / 'last_checkpoint').write_text(good)  # tmp_path/good.pth
    assert find_resumable_checkpoint(str(work)) is None
    inside = work / 'epoch_2.pth'
    inside.write_bytes(open(good, 'rb').read())
    assert find_resumable_checkpoint(str(work)) == str(inside)


# -- a loss that diverges --------------------------------------------------


class FakeRunner:
    iter, epoch = 41, 3


def test_a_non_finite_loss_stops_training_naming_the_iteration():
    hook = NonFiniteLossHook()
    hook.after_train_iter(FakeRunner(), 1, outputs={
        'loss': torch.tensor(0.5), 'acc_pose': torch.tensor(float('nan'))})
    with pytest.raises(FloatingPointError,
                       match=r'non-finite loss at iteration 42 \(epoch 4, '
                       r'batch 2\): loss=nan, loss_kpt=inf'):
        hook.after_train_iter(FakeRunner(), 1, outputs={
            'loss': torch.tensor(float('nan')),
            'loss_kpt': torch.tensor(float('inf'))})


def test_configs_can_name_the_runner_and_hooks():
    """``runner_type`` selects the runner where ``RUNNERS.build(cfg)``
    builds it; ``custom_hooks`` / ``default_hooks`` name the hooks."""
    from mmpose.registry import HOOKS, RUNNERS
    from simdr_ext.engine import RepresentationCheckHook, SafeCheckpointHook
    assert RUNNERS.get('CheckedRunner') is CheckedRunner
    assert HOOKS.get('NonFiniteLossHook') is NonFiniteLossHook
    assert HOOKS.get('RepresentationCheckHook') is RepresentationCheckHook
    assert HOOKS.get('SafeCheckpointHook') is SafeCheckpointHook
