# Copyright (c) simdr_ext contributors. All rights reserved.
"""Where the bundled sample data (``tests/data``: a few COCO, CrowdPose
and MPII images with their annotation files) and the shipped configs are,
for configs that use them: a function call, so that no config pastes a
path into its own text."""
import os.path as osp

PACKAGE = osp.dirname(osp.dirname(osp.abspath(__file__)))


def bundled_data_root(*parts: str) -> str:
    """The bundled sample data folder, joined with ``parts``.

    The folder is ``simdr_ext/.mim/tests/data`` when the package was
    installed with its mim files (``setup.py`` links or copies them there),
    else ``tests/data`` of the repository that holds the package.

    Args:
        *parts (str): Path parts below the folder, e.g. ``'coco'``,
            ``'test_coco.json'``; a last ``''`` ends the path with a
            separator.

    Returns:
        str: An absolute path (it exists where the data is installed).
    """
    return osp.join(_installed('tests', 'data'), *parts)


def config_path(*parts: str) -> str:
    """The folder of simdr_ext's configs, joined with ``parts``.

    The folder is ``simdr_ext/.mim/configs`` when the package was
    installed with its mim files, else ``configs`` of the repository that
    holds the package. Configs of other projects inherit simdr_ext's
    ``_base_`` files by this absolute path (mmengine 0.10.7 resolves
    ``package::`` bases only for the OpenMMLab packages it lists).

    Args:
        *parts (str): Path parts below the folder, e.g. ``'_base_'``,
            ``'default_runtime.py'``.

    Returns:
        str: An absolute path (it exists where the configs are installed).
    """
    return osp.join(_installed('configs'), *parts)


def _installed(*folder: str) -> str:
    """``folder`` under ``simdr_ext/.mim`` if that exists, else in the
    repository that holds the package (if that exists)."""
    mim = osp.join(PACKAGE, '.mim', *folder)
    repo = osp.join(osp.dirname(PACKAGE), *folder)
    return repo if not osp.isdir(mim) and osp.isdir(repo) else mim
