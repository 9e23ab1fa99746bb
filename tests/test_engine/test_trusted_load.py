# Copyright (c) simdr_ext contributors. All rights reserved.
"""One trust boundary for every checkpoint read.

Each payload is written here; a marker file proves whether code ran and a
victim file or folder whether something was deleted. The routes are the
ones a user reaches: local paths, URLs answered from the torch hub cache
(no network), the ``torchvision://`` / ``open-mmlab://`` / ``mmcls://``
name tables, ``init_cfg=Pretrained``, mmpose's ``init_model``, mmengine's
``load_checkpoint``, ``load_from`` and ``resume`` of mmengine's plain
``Runner`` (mmpose's own tools) and of :class:`CheckedRunner`.
"""
import os
import os.path as osp
import pickle
import struct
import zipfile

import pytest
import torch
from mmengine.runner import Runner, load_checkpoint
from mmengine.runner.checkpoint import (CheckpointLoader, _load_checkpoint,
                                        get_external_models, get_mmcls_models,
                                        get_torchvision_models)

from simdr_ext.engine import (CheckedRunner, CheckpointError,
                              SafeCheckpointHook)
from simdr_ext.engine import trusted_load
from simdr_ext.engine.trusted_load import (hub_cache_file, tensor_problem,
                                           zip_problem)


class OpensMarker:
    """Unpickling calls ``open(marker, 'w')``: the file appears if code
    ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, 'w'))


def payload_checkpoint(path, marker):
    torch.save({'state_dict': {'w': torch.zeros(2)},
                'meta': {'x': OpensMarker(marker)}}, str(path))
    return str(path)


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """An empty torch hub dir (no network is used: files are put there)."""
    folder = tmp_path / 'hub'
    monkeypatch.setattr(torch.hub, '_hub_dir', str(folder))
    return folder


def in_hub_cache(url, source):
    cached = hub_cache_file(url)
    os.makedirs(osp.dirname(cached), exist_ok=True)
    os.replace(source, cached)
    return cached


# -- the scheme table ----------------------------------------------------

MMENGINE_PREFIXES = {
    '', 'http://', 'https://', 'pavi://', r'(\S+\:)?s3://',
    r'(\S+\:)?petrel://', 'modelzoo://', 'torchvision://', 'open-mmlab://',
    'openmmlab://', 'mmcls://'
}


def test_every_scheme_mmengine_registers_has_a_checked_loader():
    assert set(CheckpointLoader._schemes) == MMENGINE_PREFIXES
    checked = set(trusted_load.LOADERS.values()) | {trusted_load.load_refused}
    for prefix, loader in CheckpointLoader._schemes.items():
        assert loader in checked, prefix
        assert loader.__module__ == trusted_load.__name__


def test_a_scheme_registered_later_is_refused_after_install(tmp_path):

    def unchecked(filename, map_location=None):
        return torch.load(filename, weights_only=False)

    CheckpointLoader.register_scheme('later://', unchecked)
    try:
        trusted_load.install()
        with pytest.raises(CheckpointError, match='not read by simdr_ext'):
            _load_checkpoint('later://x.pth')
    finally:
        CheckpointLoader._schemes.pop('later://')


# -- code in the pickle, through every route ------------------------------


def routes(tmp_path, hub):
    """``(name, checkpoint name)`` of one payload per route."""
    names = {}
    local = payload_checkpoint(tmp_path / 'local.pth', tmp_path / 'm')
    names['local'] = local
    url = 'https://example.invalid/models/payload.pth'
    in_hub_cache(url, payload_checkpoint(tmp_path / 'u.pth', tmp_path / 'm'))
    names['https (hub cache)'] = url
    for scheme, table, key in (
            ('torchvision://', get_torchvision_models(), 'resnet50'),
            ('open-mmlab://', get_external_models(), 'bninception_caffe'),
            ('mmcls://', get_mmcls_models(), 'mobilenet_v2')):
        in_hub_cache(table[key], payload_checkpoint(
            tmp_path / f'{key}.pth', tmp_path / 'm'))
        names[scheme] = scheme + key
    return names


def test_code_in_a_checkpoint_never_runs_whatever_the_scheme(tmp_path, hub):
    marker = tmp_path / 'm'
    for route, name in routes(tmp_path, hub).items():
        with pytest.raises(pickle.UnpicklingError, match='Refused to load'):
            _load_checkpoint(name, map_location='cpu')
        assert not marker.exists(), route


def test_init_cfg_pretrained_load_checkpoint_and_init_model_are_checked(
        tmp_path, hub, quickstart_config):
    from mmpose.apis import init_model
    marker = tmp_path / 'm'
    url = 'https://example.invalid/backbone.pth'
    in_hub_cache(url, payload_checkpoint(tmp_path / 'b.pth', marker))
    model = torch.nn.Linear(2, 2)
    with pytest.raises(pickle.UnpicklingError):
        load_checkpoint(model, url)
    from mmengine.model import BaseModule

    class Pretrained(BaseModule):

        def __init__(self):
            super().__init__(init_cfg=dict(type='Pretrained',
                                           checkpoint=url))
            self.w = torch.nn.Linear(2, 2)

    with pytest.raises(pickle.UnpicklingError):
        Pretrained().init_weights()
    with pytest.raises(pickle.UnpicklingError):
        init_model(quickstart_config, url, device='cpu')
    assert not marker.exists()


def test_no_network_names_the_hub_cache_file(hub):
    url = 'http://127.0.0.1:9/not/there.pth'
    with pytest.raises(CheckpointError, match='cannot download') as err:
        _load_checkpoint(url)
    assert hub_cache_file(url) in str(err.value)


def test_pavi_is_refused():
    with pytest.raises(CheckpointError, match='not read by simdr_ext'):
        _load_checkpoint('pavi://model.pth')


# -- config text in a checkpoint -----------------------------------------


def code_in_config(marker):
    return f"x = open({str(marker)!r}, 'w')\n"


@pytest.mark.parametrize('runner', [Runner, CheckedRunner],
                         ids=['mmengine Runner', 'CheckedRunner'])
def test_resume_never_executes_the_config_text_of_a_checkpoint(
        tmp_path, toy_run, runner):
    marker = tmp_path / 'marker'
    first = toy_run(tmp_path / 'w', epochs=1, runner=runner)
    ckpt_path = tmp_path / 'w' / 'epoch_1.pth'
    ckpt = torch.load(ckpt_path, weights_only=True)
    ckpt['meta']['config'] = code_in_config(marker)
    ckpt['meta']['cfg'] = code_in_config(marker)
    ckpt['message_hub']['runtime_info']['cfg'] = code_in_config(marker)
    torch.save(ckpt, ckpt_path)
    del first
    resumed = toy_run(tmp_path / 'w', epochs=2, runner=runner, resume=True,
                      load_from=str(ckpt_path))
    assert resumed.epoch == 2
    assert not marker.exists()


def test_loaded_checkpoints_carry_no_config_text(tmp_path):
    path = tmp_path / 'c.pth'
    torch.save({'state_dict': {}, 'meta': {'cfg': 'a = 1', 'config': 'b = 2',
                                           'epoch': 3},
                'message_hub': {'runtime_info': {'cfg': 'c = 3', 'iter': 4}}},
               path)
    ckpt = _load_checkpoint(str(path))
    assert ckpt['meta'] == {'epoch': 3}
    assert ckpt['message_hub']['runtime_info'] == {'iter': 4}


# -- paths in a checkpoint ------------------------------------------------


@pytest.mark.parametrize('runner', [Runner, CheckedRunner],
                         ids=['mmengine Runner', 'CheckedRunner'])
def test_resume_never_deletes_files_a_checkpoint_names(tmp_path, toy_run,
                                                       runner):
    outside = tmp_path / 'outside'
    outside.mkdir()
    victim_file = outside / 'thesis.txt'
    victim_file.write_text('years of work')
    victim_dir = outside / 'data'
    victim_dir.mkdir()
    (victim_dir / 'x.jpg').write_bytes(b'img')
    work = tmp_path / 'w'
    inner_victim = work / 'notes.txt'
    toy_run(work, epochs=1, runner=runner)
    inner_victim.write_text('mine')
    ckpt_path = work / 'epoch_1.pth'
    ckpt = torch.load(ckpt_path, weights_only=True)
    info = ckpt['message_hub']['runtime_info']
    for key, target in (('best_ckpt', victim_file),
                        ('best_ckpt', victim_dir),
                        ('best_ckpt', inner_victim)):
        info[key] = str(target)
        info['keep_ckpt_ids'] = ['../outside/thesis', 1]
        info['last_ckpt'] = str(victim_file)
        torch.save(ckpt, ckpt_path)
        toy_run(work, epochs=2, runner=runner, resume=True,
                load_from=str(ckpt_path),
                default_hooks=dict(checkpoint=dict(
                    type=SafeCheckpointHook, interval=1, save_best='auto',
                    rule='greater', max_keep_ckpts=1)))
        assert victim_file.read_text() == 'years of work'
        assert (victim_dir / 'x.jpg').exists()
        assert inner_victim.read_text() == 'mine'
    assert (work / 'best_score_epoch_2.pth').exists()


def test_the_previous_best_is_deleted_once_the_new_one_is_written(
        tmp_path, toy_run):
    work = tmp_path / 'w'
    toy_run(work, epochs=3)
    bests = sorted(p.name for p in work.glob('best_*.pth'))
    assert bests == ['best_score_epoch_3.pth']


@pytest.mark.parametrize('runner', [Runner, CheckedRunner],
                         ids=['mmengine Runner', 'CheckedRunner'])
def test_a_failed_write_of_a_new_best_keeps_the_old_best(tmp_path, toy_run,
                                                         monkeypatch,
                                                         runner):
    work = tmp_path / 'w'
    toy_run(work, epochs=1, runner=runner)
    old_best = work / 'best_score_epoch_1.pth'
    assert old_best.exists()
    save = runner.save_checkpoint

    def fails_for_best(self, out_dir, filename, *args, **kwargs):
        if filename.startswith('best_'):
            raise OSError(28, 'No space left on device')
        return save(self, out_dir, filename, *args, **kwargs)

    monkeypatch.setattr(runner, 'save_checkpoint', fails_for_best)
    with pytest.raises(OSError, match='No space left'):
        toy_run(work, epochs=2, runner=runner, resume=True,
                load_from=str(work / 'epoch_1.pth'))
    assert old_best.exists()
    assert torch.load(old_best, weights_only=True)['state_dict']


# -- zip records and tensor views -----------------------------------------


def rezip(src, dst, compression):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(
            dst, 'w', compression) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info.filename))
    return str(dst)


def test_compressed_records_are_refused_before_inflating(tmp_path):
    src = tmp_path / 'plain.pth'
    torch.save({'state_dict': {'w': torch.zeros(1 << 16)}}, src)
    bomb = rezip(src, tmp_path / 'bomb.pth', zipfile.ZIP_DEFLATED)
    assert osp.getsize(bomb) < osp.getsize(src) / 20
    with pytest.raises(CheckpointError, match='compressed'):
        _load_checkpoint(bomb)


def test_records_declaring_more_bytes_than_the_file_are_refused(tmp_path):
    src = tmp_path / 'c.pth'
    torch.save({'state_dict': {'w': torch.zeros(64)}}, src)
    data = bytearray(src.read_bytes())
    # central directory entries: signature PK\1\2, uncompressed size at +24
    at = data.rfind(b'PK\x01\x02')
    struct.pack_into('<I', data, at + 24, 1 << 31)
    src.write_bytes(bytes(data))
    assert zip_problem(str(src))
    with pytest.raises(CheckpointError, match='refused'):
        _load_checkpoint(str(src))


def test_expanded_views_are_refused_without_allocating(tmp_path):
    huge = torch.zeros(1).expand(1 << 40)  # 4 TiB as a view of 4 bytes
    assert 'viewing 4 stored bytes' in tensor_problem(huge)
    path = tmp_path / 'view.pth'
    torch.save({'state_dict': {'w': torch.zeros(1).expand(1 << 20)}}, path)
    with pytest.raises(CheckpointError, match='viewing 4 stored bytes'):
        _load_checkpoint(str(path))


def test_deep_nesting_is_walked_without_recursion():
    nested = torch.zeros(2)
    for _ in range(100000):
        nested = [nested]
    found = trusted_load.walk({'meta': nested})
    assert len(found) == 1 and found[0] is not None


BOMB_CHILD = '''
import resource, sys
import simdr_ext
from mmengine.runner.checkpoint import _load_checkpoint
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    _load_checkpoint(sys.argv[1])
    print('LOADED')
except Exception as err:
    print('REFUSED', type(err).__name__, str(err)[:200])
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print('GROWTH_KB', after - before)
'''


@pytest.mark.slow
def test_a_compressed_checkpoint_bomb_is_refused_in_bounded_memory(
        tmp_path, python):
    """1 GiB of zeros deflated to about 1 MB beside a real checkpoint's
    records: refused, with the process growing by far less than what the
    record would inflate to (measured in a child process)."""
    src = tmp_path / 'plain.pth'
    torch.save({'state_dict': {'w': torch.zeros(16)}}, src)
    bomb = tmp_path / 'bomb.pth'
    rezip(src, bomb, zipfile.ZIP_DEFLATED)
    chunk = bytes(1 << 20)
    with zipfile.ZipFile(bomb, 'a', zipfile.ZIP_DEFLATED) as zf:
        with zf.open('plain/data/1', 'w', force_zip64=True) as f:
            for _ in range(1024):
                f.write(chunk)
    assert osp.getsize(bomb) < 4 << 20
    import subprocess
    proc = subprocess.run([python, '-c', BOMB_CHILD, str(bomb)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'REFUSED CheckpointError' in proc.stdout, proc.stdout
    assert 'compressed' in proc.stdout
    growth_kb = int(proc.stdout.split('GROWTH_KB')[1])
    assert growth_kb < 64 << 10, proc.stdout  # < 64 MiB, not 1 GiB


@pytest.mark.slow
def test_train_tool_resume_neither_runs_nor_deletes(tmp_path, python,
                                                    repo_root,
                                                    quickstart_config):
    """``tools/train.py --resume``: a checkpoint with config text and a
    best-checkpoint path naming a victim resumes without running the text
    or deleting the victim; a URL answered from the hub cache with a code
    payload is refused."""
    import subprocess
    work, marker = tmp_path / 'work', tmp_path / 'marker'
    victim = tmp_path / 'victim.txt'
    victim.write_text('keep me')
    opts = ['--cfg-options', 'train_cfg.val_interval=1',
            'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0',
            'train_dataloader.persistent_workers=False',
            'val_dataloader.persistent_workers=False']

    def train(epochs, *extra):
        return subprocess.run(
            [python, 'tools/train.py', quickstart_config, '--work-dir',
             str(work), *extra, *opts, f'train_cfg.max_epochs={epochs}'],
            cwd=repo_root, capture_output=True, text=True, timeout=600,
            env=dict(os.environ, TORCH_HOME=str(tmp_path / 'torch')))

    proc = train(1)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ckpt_path = work / 'epoch_1.pth'
    ckpt = torch.load(ckpt_path, weights_only=True)
    ckpt['meta']['config'] = code_in_config(marker)
    ckpt['message_hub']['runtime_info']['best_ckpt'] = str(victim)
    torch.save(ckpt, ckpt_path)
    proc = train(2, '--resume', str(ckpt_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert not marker.exists()
    assert victim.read_text() == 'keep me'
    assert (work / 'epoch_2.pth').exists()

    url = 'https://example.invalid/ckpt/payload.pth'
    cached = tmp_path / 'torch' / 'hub' / 'checkpoints' / 'payload.pth'
    cached.parent.mkdir(parents=True)
    payload_checkpoint(cached, marker)
    proc = train(3, '--resume', url)
    assert proc.returncode != 0
    assert 'Refused to load' in proc.stderr
    assert not marker.exists()
