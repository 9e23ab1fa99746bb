# Copyright (c) simdr_ext contributors. All rights reserved.
"""Where the bundled sample data (``tests/data``: a few COCO, CrowdPose
and MPII images with their annotation files) is, for configs that use it:
a function call, so that no config pastes a path into its own text."""
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
    mim = osp.join(PACKAGE, '.mim', 'tests', 'data')
    repo = osp.join(osp.dirname(PACKAGE), 'tests', 'data')
    root = repo if not osp.isdir(mim) and osp.isdir(repo) else mim
    return osp.join(root, *parts)
