# Copyright (c) simdr_ext contributors. All rights reserved.
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from mmpose.registry import TRANSFORMS


@TRANSFORMS.register_module()
class JointsDatasetHalfBody(BaseTransform):
    r"""Half-body box of the SimDR training code.

    SimCC ``lib/dataset/JointsDataset.py`` ``__getitem__`` l.156-163 and
    ``half_body_transform`` l.74-117, per instance:

    - applied if the sum of the keypoint visibilities exceeds
      ``num_joints_half_body`` and then ``U(0, 1) < prob`` (l.156-157; the
      uniform number is drawn only when the count passes);
    - visible keypoints (``visible > 0``) split into the upper body
      (``upper_body_ids``) and the rest (l.77-82);
    - the upper body is taken if ``z < 0.5``, ``z ~ N(0, 1)``, and it has
      more than 2 visible keypoints, else the lower body if it has more than
      2, else the upper body (l.84-88): ``P(upper) = Phi(0.5) = 0.6915``
      when both halves have more than 2;
    - fewer than 2 keypoints selected: the box is kept (l.90-91);
    - centre: the mean of the selected keypoints (l.94); size: their
      ``max - min`` in x and y (l.96-100), widened or heightened to the
      aspect ratio (l.102-105), times ``padding`` 1.5 (l.115).

    The authors' scale ``size / 200 * 1.5`` (l.107-115, ``pixel_std`` 200)
    is ``size * 1.5`` pixels in mmpose's ``bbox_scale``. Without
    ``input_size`` the aspect-ratio step is left to ``TopdownAffine``,
    whose ``_fix_aspect_ratio`` is the same rule and commutes with the
    padding and the scaling. Draws come from numpy's global random
    generator. A box whose selected keypoints all coincide (size 0 in x and
    y, a singular warp) is kept unchanged. A drop-in replacement of
    mmpose's ``RandomHalfBody``, which differs: at least 9 visible
    keypoints, upper body first with probability 0.7, at least 3 lower
    keypoints, and no aspect-ratio step.

    Required Keys:

        - keypoints (np.ndarray): (N, K, 2)
        - keypoints_visible (np.ndarray): (N, K) or (N, K, 2)
        - upper_body_ids (list): from the data set's metainfo
        - bbox_center (np.ndarray): (N, 2)
        - bbox_scale (np.ndarray): (N, 2)

    Modified Keys:

        - bbox_center
        - bbox_scale

    Args:
        prob (float): ``DATASET.PROB_HALF_BODY`` in ``[0, 1]``. Defaults to
            0.3 (SimCC ``experiments/coco/hrnet/simdr/*.yaml`` l.19).
        num_joints_half_body (int): ``DATASET.NUM_JOINTS_HALF_BODY``.
            Defaults to 8 (SimCC ``lib/config/default.py`` l.82).
        padding (float): Factor on the half-body box. Defaults to 1.5.
        input_size (tuple, optional): The model input ``(w, h)`` whose
            aspect ratio the box takes; ``None`` leaves it to
            ``TopdownAffine``. Defaults to ``None``.
    """

    def __init__(self,
                 prob: float = 0.3,
                 num_joints_half_body: int = 8,
                 padding: float = 1.5,
                 input_size: Optional[Sequence[int]] = None) -> None:
        super().__init__()
        name = type(self).__name__
        if not (isinstance(prob, (int, float)) and 0.0 <= prob <= 1.0):
            raise ValueError(f'{name} got prob={prob!r}: must be a number '
                             'in [0, 1] (0 turns the transform off)')
        if not (isinstance(num_joints_half_body, int)
                and num_joints_half_body >= 0):
            raise ValueError(f'{name} got num_joints_half_body='
                             f'{num_joints_half_body!r}: must be an int >= 0')
        if not (isinstance(padding, (int, float)) and padding > 0):
            raise ValueError(f'{name} got padding={padding!r}: must be > 0')
        if input_size is not None and (len(input_size) != 2
                                       or min(input_size) <= 0):
            raise ValueError(f'{name} got input_size={input_size!r}: must '
                             'be (w, h) > 0')
        self.prob = float(prob)
        self.num_joints_half_body = num_joints_half_body
        self.padding = float(padding)
        self.input_size = None if input_size is None else tuple(input_size)

    @cache_randomness
    def _draw(self, passed: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """For the instances whose visibility count passes (``passed``,
        (N, ) bool): which get a half-body box (N, ) bool, and the normal
        draw of each of those (M, ). For one instance the draws are the
        authors' sequence: a uniform, then a normal if it passes."""
        applied = passed.copy()
        applied[passed] = np.random.rand(int(passed.sum())) < self.prob
        return applied, np.random.randn(int(applied.sum()))

    def select(self, visible: np.ndarray,
               upper_body_ids: Sequence[int]) -> Tuple[np.ndarray, np.ndarray]:
        """Instances that get a half-body box (N, ) bool and their
        selected keypoints (M, K) bool. ``visible``: (N, K)."""
        upper = np.zeros(visible.shape[1], bool)
        upper[list(upper_body_ids)] = True
        applied, z = self._draw(
            visible.sum(axis=1) > self.num_joints_half_body)
        shown = visible[applied] > 0
        num_upper = (shown & upper).sum(axis=1)
        num_lower = (shown & ~upper).sum(axis=1)
        # upper if z < 0.5 and more than 2 upper keypoints, else lower if
        # more than 2 lower keypoints, else upper
        take_upper = ((z < 0.5) & (num_upper > 2)) | (num_lower <= 2)
        chosen = shown & np.where(take_upper[:, None], upper, ~upper)
        return applied, chosen

    def half_body_boxes(self, keypoints: np.ndarray,
                        chosen: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Centres (M, 2) and sizes (M, 2) in pixels, float32, of the
        boxes of the ``chosen`` (M, K) of ``keypoints`` (M, K, 2)."""
        points = keypoints[..., :2].astype(np.float32)
        mask = chosen[..., None]
        count = np.maximum(chosen.sum(axis=1), 1)[:, None]
        center = np.where(mask, points, 0).sum(axis=1) / count
        size = (np.where(mask, points, -np.inf).max(axis=1) -
                np.where(mask, points, np.inf).min(axis=1))
        if self.input_size is not None:
            aspect_ratio = self.input_size[0] / self.input_size[1]
            w, h = size[:, 0].copy(), size[:, 1].copy()
            wide, tall = w > aspect_ratio * h, w < aspect_ratio * h
            h[wide] = w[wide] / aspect_ratio
            w[tall] = h[tall] * aspect_ratio
            size = np.stack([w, h], axis=1)
        return (center.astype(np.float32),
                (size * self.padding).astype(np.float32))

    def transform(self, results: Dict) -> Dict:
        """Replace the boxes of the instances drawn for a half-body box.

        Args:
            results (dict): The result dict.

        Returns:
            dict: The result dict.
        """
        name = type(self).__name__
        if 'upper_body_ids' not in results:
            raise KeyError(f'{name} needs "upper_body_ids" in the results '
                           "(the data set's metainfo)")
        visible = np.asarray(results['keypoints_visible'], np.float32)
        if visible.ndim == 3:
            visible = visible[..., 0]
        keypoints = np.asarray(results['keypoints'])
        if visible.ndim != 2 or keypoints.shape[:2] != visible.shape:
            raise ValueError(
                f'{name}: keypoints {keypoints.shape} and keypoints_visible '
                f'{visible.shape} do not match')
        center = np.array(results['bbox_center'], np.float32)
        scale = np.array(results['bbox_scale'], np.float32)
        applied, chosen = self.select(visible, results['upper_body_ids'])
        c, s = self.half_body_boxes(keypoints[applied], chosen)
        # fewer than 2 keypoints, or all at one point: the box is kept
        usable = (chosen.sum(axis=1) >= 2) & np.any(s > 0, axis=1)
        rows = np.flatnonzero(applied)[usable]
        center[rows], scale[rows] = c[usable], s[usable]
        results['bbox_center'], results['bbox_scale'] = center, scale
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(prob={self.prob}, '
                f'num_joints_half_body={self.num_joints_half_body}, '
                f'padding={self.padding}, input_size={self.input_size})')
