# Copyright (c) simdr_ext contributors. All rights reserved.
"""Installs simdr_ext, an MMPose 1.x extension for SimDR, SimDR* and DARK.

``add_mim_extension`` makes ``tools/``, ``configs/``, ``demo/``,
``model-index.yml`` and ``tests/data`` (the bundled images the quickstart
and the benchmarks read) visible to ``mim`` under ``simdr_ext/.mim``
(symlinks for ``setup.py develop``/legacy editable installs, copies for
wheels and sdists), the same mechanism mmpose uses: ``mim train simdr_ext
CONFIG`` runs ``simdr_ext/.mim/tools/train.py``. The scripts find the
configs and data beside them (``osp.dirname(__file__)``), so they work in
the repository and under ``.mim`` alike.

``setup.py develop`` (the legacy editable install ``pip install -e .
--no-use-pep517``) puts ``build/develop`` on ``sys.path``, a folder with
links to ``simdr_ext`` and ``simdr_runtime`` and the egg-info, instead of
the repository root: the environment's other projects then import neither
this repository's ``tools`` nor its ``demo``, and mim still finds
``simdr_ext/.mim`` (the distribution's location is that folder).
"""
import os
import os.path as osp
import shutil
import sys

from setuptools import find_packages, setup

MIM_FILES = ('tools', 'configs', 'demo', 'model-index.yml',
             'tests/data')
#: The top-level packages; ``setup.py develop`` links them into DEVELOP_DIR.
PACKAGES = ('simdr_ext', 'simdr_runtime')
#: What ``setup.py develop`` puts on ``sys.path`` (relative to this file).
DEVELOP_DIR = osp.join('build', 'develop')


def get_version() -> str:
    scope: dict = {}
    with open(osp.join('simdr_ext', 'version.py'), encoding='utf-8') as f:
        exec(compile(f.read(), 'version.py', 'exec'), scope)
    return scope['__version__']


def add_mim_extension() -> None:
    """Link or copy the mim files into ``simdr_ext/.mim``."""
    if 'develop' in sys.argv:
        mode = 'symlink'
    elif any(cmd in sys.argv for cmd in ('sdist', 'bdist_wheel', 'bdist',
                                         'install', 'build')):
        mode = 'copy'
    else:
        return
    root = osp.dirname(osp.abspath(__file__))
    mim_path = osp.join(root, 'simdr_ext', '.mim')
    os.makedirs(mim_path, exist_ok=True)
    for name in MIM_FILES:
        src = osp.join(root, name)
        dst = osp.join(mim_path, name)
        if not osp.exists(src):
            continue
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        os.makedirs(osp.dirname(dst), exist_ok=True)
        if mode == 'symlink':
            os.symlink(osp.relpath(src, osp.dirname(dst)), dst)
        elif osp.isdir(src):
            shutil.copytree(src, dst)
        else:
            shutil.copyfile(src, dst)


def add_develop_links() -> dict:
    """For ``setup.py develop``: link the packages into ``DEVELOP_DIR``
    and return the command options that make it the egg base (the folder
    the egg-link and ``easy-install.pth`` name); else no options."""
    if 'develop' not in sys.argv:
        return {}
    root = osp.dirname(osp.abspath(__file__))
    folder = osp.join(root, DEVELOP_DIR)
    os.makedirs(folder, exist_ok=True)
    for name in PACKAGES:
        link = osp.join(folder, name)
        if osp.islink(link) or osp.isfile(link):
            os.remove(link)
        elif osp.isdir(link):
            shutil.rmtree(link)
        os.symlink(osp.relpath(osp.join(root, name), folder), link)
    return {'egg_info': {'egg_base': DEVELOP_DIR}}


if __name__ == '__main__':
    add_mim_extension()
    develop_options = add_develop_links()
    setup(
        name='simdr_ext',
        version=get_version(),
        description='SimDR, SimDR* and DARK keypoint representations, '
        'and TokenPose, for MMPose 1.x',
        long_description=open('README.md', encoding='utf-8').read()
        if osp.exists('README.md') else '',
        long_description_content_type='text/markdown',
        license='Apache License 2.0',
        # tools/ and demo/ are importable from the repository root (tests)
        # but ship as scripts under simdr_ext/.mim, never as top-level
        # packages
        packages=find_packages(include=[
            f'{name}{tail}' for name in PACKAGES for tail in ('', '.*')
        ]),
        options=develop_options,
        include_package_data=True,
        python_requires='>=3.8',
        install_requires=['mmpose>=1.3.0', 'mmengine>=0.10.0', 'mmcv>=2.0.0'],
        extras_require={
            'tests': ['pytest', 'hypothesis'],
            'onnx': ['onnx', 'onnxruntime', 'onnxscript'],
        },
        zip_safe=False)
