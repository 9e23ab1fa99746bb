# Copyright (c) simdr_ext contributors. All rights reserved.
"""tools/analysis/plot_curves.py: a run's scalars.json to a PNG."""
import json
import os.path as osp
import subprocess

import cv2
import pytest

from tools.analysis.plot_curves import curves, main, read_scalars


def write_run(work_dir) -> str:
    """A work dir as mmengine leaves it: two timestamp folders, the newer
    with 4 training lines over 2 epochs and one validation line."""
    old = work_dir / '20200101_000000' / 'vis_data'
    old.mkdir(parents=True)
    (old / 'scalars.json').write_text('{"loss": 99, "iter": 1}\n')
    vis = work_dir / '20200102_000000' / 'vis_data'
    vis.mkdir(parents=True)
    lines = [
        dict(loss=4.0, acc_pose=0.1, lr=1e-3, epoch=1, iter=1, step=1),
        dict(loss=3.0, acc_pose=0.2, lr=1e-3, epoch=1, iter=2, step=2),
        dict(loss=2.0, acc_pose=0.5, lr=1e-3, epoch=2, iter=3, step=3),
        dict(loss=float('nan'), acc_pose=0.7, lr=1e-3, epoch=2, iter=4,
             step=4),
        {'coco/AP': 0.5, 'step': 2},
    ]
    (vis / 'scalars.json').write_text(
        '\n'.join(json.dumps(line) for line in lines) + '\n')
    return str(vis / 'scalars.json')


def test_curves_by_iter_and_epoch(tmp_path):
    records = read_scalars(write_run(tmp_path))
    by_iter = curves(records, ['loss', 'coco/AP'], 'iter')
    # the NaN loss is left out; the validation line sits at its epoch
    assert by_iter['loss'] == ([1.0, 2.0, 3.0], [4.0, 3.0, 2.0])
    assert by_iter['coco/AP'] == ([2.0], [0.5])
    assert curves(records, ['acc_pose'], 'epoch')['acc_pose'][0] == [
        1.0, 1.0, 2.0, 2.0
    ]


def test_plot_from_a_work_dir(tmp_path, monkeypatch, capsys):
    write_run(tmp_path / 'run')
    monkeypatch.chdir(tmp_path)
    assert main(['run', '--out', 'c.png']) == 0
    assert 'loss, acc_pose, coco/AP, lr vs iter' in capsys.readouterr().out
    img = cv2.imread(str(tmp_path / 'c.png'))
    assert img is not None and img.shape[0] > img.shape[1] // 2
    # the newer run was read: its loss never reaches 99
    assert main(['run', '--keys', 'loss', '--x', 'epoch', '--out',
                 'l.png']) == 0


def test_bad_runs_say_why(tmp_path, capsys):
    path = write_run(tmp_path)
    assert main([path, '--keys', 'AP', '--out',
                 str(tmp_path / 'x.png')]) == 1
    err = capsys.readouterr().err
    assert 'no values of AP; it has acc_pose, coco/AP, loss, lr' in err
    assert main([str(tmp_path / 'none'), '--out', 'x.png']) == 1
    assert 'no scalars.json in' in capsys.readouterr().err
    bad = tmp_path / 'bad.json'
    bad.write_text('{"loss": 1}\n[1, 2]\n')
    assert main([str(bad)]) == 1
    assert f'{bad}, line 2: not a JSON object' in capsys.readouterr().err
    assert not (tmp_path / 'x.png').exists()


@pytest.mark.slow
def test_plot_a_two_epoch_quickstart_run(python, repo_root, quickstart_config,
                                         tmp_path):
    """A 2-epoch quickstart run with validation, then the tool by path from
    another folder."""
    work = tmp_path / 'work'
    proc = subprocess.run([
        python,
        osp.join(repo_root, 'tools', 'train.py'), quickstart_config,
        '--work-dir',
        str(work), '--cfg-options', 'train_cfg.max_epochs=2',
        'train_cfg.val_interval=2', 'default_hooks.checkpoint.interval=2'
    ],
                          cwd=tmp_path,
                          capture_output=True,
                          text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = subprocess.run([
        python,
        osp.join(repo_root, 'tools', 'analysis', 'plot_curves.py'),
        str(work), '--out', 'curves.png'
    ],
                          cwd=tmp_path,
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'loss, acc_pose, coco/AP, lr vs iter' in proc.stdout
    assert cv2.imread(str(tmp_path / 'curves.png')) is not None


def test_plot_curves_under_mim_run(python, tmp_path):
    """``mim run simdr_ext plot_curves`` from another folder."""
    path = write_run(tmp_path / 'run')
    mim = osp.join(osp.dirname(python), 'mim')
    proc = subprocess.run(
        [mim, 'run', 'simdr_ext', 'plot_curves', path, '--out', 'c.png'],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert 'wrote c.png: loss, acc_pose, coco/AP, lr vs iter' in proc.stdout
    assert cv2.imread(str(tmp_path / 'c.png')) is not None
