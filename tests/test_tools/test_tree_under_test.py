# Copyright (c) simdr_ext contributors. All rights reserved.
"""Subprocesses of the tests run the tree the tests live in."""
import os.path as osp
import subprocess
import sys


def test_a_subprocess_imports_this_tree_from_any_folder(tmp_path, repo_root):
    proc = subprocess.run(
        [sys.executable, '-c', 'import simdr_ext, tools, demo; '
         'print(simdr_ext.__file__); print(tools.__file__); '
         'print(demo.__file__)'],
        cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for line in proc.stdout.split():
        assert osp.realpath(line).startswith(osp.realpath(repo_root) +
                                             osp.sep), line
