# Copyright (c) simdr_ext contributors. All rights reserved.
from typing import Dict, Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from mmpose.registry import TRANSFORMS


@TRANSFORMS.register_module()
class JointsDatasetBBoxTransform(BaseTransform):
    r"""Random box scaling and rotation of the SimDR training code.

    The sampler of SimCC ``lib/dataset/JointsDataset.py`` l.165-169
    (``__getitem__``), per instance with scale factor ``sf`` and rotation
    factor ``rf``:

    - scale: ``bbox_scale *= clip(1 + sf z, 1 - sf, 1 + sf)``, ``z ~ N(0,
      1)`` (l.167);
    - rotation: with probability ``rotate_prob`` (``random.random() <= 0.6``,
      l.169) ``clip(rf z', -2 rf, 2 rf)`` degrees, ``z' ~ N(0, 1)`` (l.168),
      else 0;
    - no shift of the box centre.

    Clipping puts the tails on the bounds: the scale factor is ``1 +- sf``
    with probability ``1 - Phi(1) = 0.1587`` each and has std
    ``0.7184 sf``; a rotation is ``+-2 rf`` with probability
    ``1 - Phi(2) = 0.0228`` each and has std ``0.9595 rf``. mmpose's
    ``RandomBBoxTransform`` draws a normal truncated at one sigma instead
    (std ``0.5396`` times the half range, rotations within ``+-rf``) and
    shifts the centre.

    The factor is relative: the authors' scale (in units of ``pixel_std``
    200) and mmpose's ``bbox_scale`` (pixels) are multiplied by the same
    number. Draws come from numpy's global random generator (seeded by
    mmengine's ``randomness`` setting), in the authors' order: the scale,
    the rotation test, then the angle if the test passes. A drop-in
    replacement of ``RandomBBoxTransform`` before ``TopdownAffine``.

    Required Keys:

        - bbox_scale (np.ndarray): (N, 2) box sizes in pixels

    Modified Keys:

        - bbox_scale

    Added Keys:

        - bbox_rotation (np.ndarray): (N, ) degrees

    Args:
        scale_factor (float): ``sf`` in ``[0, 1)`` (``DATASET.SCALE_FACTOR``).
            Defaults to 0.25 (SimCC ``lib/config/default.py`` l.79).
        rotate_factor (float): ``rf >= 0`` in degrees
            (``DATASET.ROT_FACTOR``). Defaults to 30 (l.80).
        rotate_prob (float): Probability of a rotation, in ``[0, 1]``.
            Defaults to 0.6 (``JointsDataset.py`` l.169).
    """

    def __init__(self,
                 scale_factor: float = 0.25,
                 rotate_factor: float = 30.0,
                 rotate_prob: float = 0.6) -> None:
        super().__init__()
        name = type(self).__name__
        rules = (('scale_factor', scale_factor, 'in [0, 1)',
                  lambda v: 0.0 <= v < 1.0),
                 ('rotate_factor', rotate_factor, '>= 0', lambda v: v >= 0),
                 ('rotate_prob', rotate_prob, 'in [0, 1]',
                  lambda v: 0.0 <= v <= 1.0))
        for arg, value, rule, ok in rules:
            if not (isinstance(value, (int, float)) and ok(value)):
                raise ValueError(f'{name} got {arg}={value!r}: must be a '
                                 f'number {rule}')
        self.scale_factor = float(scale_factor)
        self.rotate_factor = float(rotate_factor)
        self.rotate_prob = float(rotate_prob)

    @cache_randomness
    def _get_transform_params(
            self, num_bboxes: int) -> Tuple[np.ndarray, np.ndarray]:
        """Scale factors (N, 1) and rotations in degrees (N, ), float32.
        For one box the draws are the authors' sequence: a normal, a
        uniform, and a normal if the uniform passes."""
        sf, rf = self.scale_factor, self.rotate_factor
        scale = np.clip(np.random.randn(num_bboxes) * sf + 1, 1 - sf, 1 + sf)
        rotated = np.random.rand(num_bboxes) <= self.rotate_prob
        rotate = np.zeros(num_bboxes)
        rotate[rotated] = np.clip(
            np.random.randn(int(rotated.sum())) * rf, -2 * rf, 2 * rf)
        return (scale.astype(np.float32)[:, None],
                rotate.astype(np.float32))

    def transform(self, results: Dict) -> Dict:
        """Scale and rotate the boxes of ``results``.

        Args:
            results (dict): The result dict.

        Returns:
            dict: The result dict.
        """
        bbox_scale = np.asarray(results['bbox_scale'], np.float32)
        if bbox_scale.ndim != 2 or bbox_scale.shape[1] != 2:
            raise ValueError(
                f'{type(self).__name__} expects bbox_scale of shape (N, 2), '
                f'got {bbox_scale.shape}')
        scale, rotate = self._get_transform_params(bbox_scale.shape[0])
        results['bbox_scale'] = bbox_scale * scale
        results['bbox_rotation'] = rotate
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(scale_factor={self.scale_factor}, '
                f'rotate_factor={self.rotate_factor}, '
                f'rotate_prob={self.rotate_prob})')
