# Copyright (c) simdr_ext contributors. All rights reserved.
from typing import Sequence, Tuple, Union

import numpy as np

from mmpose.registry import KEYPOINT_CODECS
from .base_simdr_codec import BaseSimDRCodec
from .utils.gaussian import gaussian_labels_1d, label_peak_probability
from .utils.simdr import OFF_CROP, margin_weights
from .utils.validation import check_choice, check_sigma


@KEYPOINT_CODECS.register_module()
class SASimDRLabel(BaseSimDRCodec):
    r"""SimDR*: space-aware SimDR with 1D Gaussian labels.

    Implements SimDR* eq. (6)-(7) of `SimCC: a Simple Coordinate
    Classification Perspective for Human Pose Estimation`_: each coordinate
    is scaled by the splitting factor ``k`` and written as a 1D Gaussian
    ``exp(-(i - x k)^2 / (2 sigma^2))`` over ``round(w * k)`` x bins (and
    ``round(h * k)`` y bins), divided by ``sigma * sqrt(2 pi)`` when
    ``normalize``. The model is trained with a KL divergence
    (:class:`SimDRKLLoss`).

    Coordinate convention: a keypoint at ``x`` is the centre of input pixel
    ``x`` and bin ``i`` sits at ``x * k = i``, so bin ``i`` decodes to
    ``i / k``; the Gaussian is centred at the unrounded ``x * k`` (the paper
    and the authors' code) unless ``round_center``; invisible
    (``keypoints_visible < 0.5``), non-finite and off-input keypoints (the
    rounded bin outside ``[0, L - 1]``, as :class:`SimDRLabel`) get weight 0
    and an all-zero label.

    Decoding takes the argmax bin of each vector, with ``decode_refine``
    plus a parabola through the log-probabilities around it (exact for a
    Gaussian, clamped to +-0.5 bin). Scores are ``softmax(o)[argmax] /
    p_peak(sigma)``, ``p_peak`` the peak of the target label normalised to
    sum 1, clipped to [0, 1], the smaller of x and y: a perfect prediction
    scores 1 (at least ``exp(-1 / (8 sigma^2))`` for a centre between two
    bins), where raw softmax peaks of a sigma = 6 Gaussian, about 0.07,
    fall under mmpose's keypoint score threshold (leeyegy/SimCC#18).

    Note:
        - N instances, K keypoints; input image size [w, h] px
        - bins: Wx = round(w * k), Wy = round(h * k)

    Encoded:
        - keypoint_x_labels (np.ndarray): Gaussian x labels, (N, K, Wx)
        - keypoint_y_labels (np.ndarray): Gaussian y labels, (N, K, Wy)
        - keypoint_weights (np.ndarray): 0 / 1 weights, (N, K)

    Args:
        input_size (tuple): Input image size ``(w, h)``, pixels.
        split_ratio (float): Splitting factor ``k >= 1``. Defaults to 2.0.
        sigma (float | tuple): Gaussian standard deviation in bins, one for
            both axes or ``(sigma_x, sigma_y)``, each in ``[1e-3, L]`` for
            an axis of ``L`` bins. Defaults to 6.0.
        normalize (bool): Divide the labels by ``sigma * sqrt(2 pi)``.
            Defaults to ``True``.
        round_center (bool): Centre the Gaussian at ``round(x * k)`` as
            mmpose's ``SimCCLabel`` does, instead of at ``x * k``. Defaults
            to ``False``.
        decode_refine (bool): Add the sub-bin parabola step when decoding.
            Defaults to ``False``.
        keypoint_score (str): ``'min'`` or ``'max'`` of the x and y scores.
            Defaults to ``'min'``.
        score_scale (str): ``'peak'`` (the score above), ``'probability'``
            (the softmax peak; SimCC ``lib/core/function.py``
            validate_sa_simdr l.127-128, l.152-157) or ``'logit'`` (the
            raw maximum; <= 0 decodes to ``-1 / k`` px, as mmpose 1.3.2's
            ``SimCCLabel``). Defaults to ``'peak'``.
        off_crop (str): ``'zero_weight'``: an off-input keypoint gets
            weight 0 (above). ``'truncated'``: a visible keypoint keeps
            weight 1 and the part of its Gaussian that falls on the crop
            while ``-3 sigma - 2 < x < w + 3 sigma`` (likewise y) in input
            *pixels*, sigma being in bins: SimCC
            ``lib/dataset/JointsDataset.py`` generate_sa_simdr l.237-254
            and adjust_target_weight l.377-389 compare the input-pixel
            joint with ``image_size`` at ``tmp_size = 3 sigma``
            (:func:`~simdr_ext.codecs.utils.simdr.margin_weights`); the
            centre is ``x k`` (l.245), or its rounding with
            ``round_center``. Defaults to ``'zero_weight'``.

    .. _`SimCC: a Simple Coordinate Classification Perspective for Human Pose
       Estimation`: https://arxiv.org/abs/2107.03332
    """

    score_scales = ('probability', 'peak', 'logit')

    def __init__(self,
                 input_size: Tuple[int, int],
                 split_ratio: float = 2.0,
                 sigma: Union[float, Sequence[float]] = 6.0,
                 normalize: bool = True,
                 round_center: bool = False,
                 decode_refine: bool = False,
                 keypoint_score: str = 'min',
                 score_scale: str = 'peak',
                 off_crop: str = 'zero_weight') -> None:
        super().__init__(input_size, split_ratio, keypoint_score,
                         score_scale)
        self.off_crop = check_choice(self.__class__.__name__, 'off_crop',
                                     off_crop, OFF_CROP)
        self.sigma = check_sigma(self.__class__.__name__, sigma,
                                 self.num_bins)
        self.normalize = bool(normalize)
        self.round_center = bool(round_center)
        self.decode_refine = bool(decode_refine)
        self.peaks = tuple(label_peak_probability(s) for s in self.sigma)

    def target_weights(self, keypoints: np.ndarray,
                       keypoints_visible: np.ndarray,
                       weights: np.ndarray) -> np.ndarray:
        """``weights`` for ``'zero_weight'``; the authors' margin rule
        in input pixels (margin ``3 sigma``) for ``'truncated'``."""
        if self.off_crop == 'zero_weight':
            return weights
        return margin_weights(keypoints, keypoints_visible, self.input_size,
                              tuple(3 * s for s in self.sigma))

    def axis_labels(self, axis: int, coords: np.ndarray, bins: np.ndarray,
                    weights: np.ndarray) -> np.ndarray:
        """SimDR* eq. (6)/(7): Gaussian labels, shape (N, K, L)."""
        centres = coords * self.split_ratio
        if self.round_center:
            # round(x k), halves up: the bin of keypoint_bins, also for a
            # keypoint off the input that 'truncated' keeps
            with np.errstate(invalid='ignore'):
                centres = np.floor(centres + 0.5)
        return gaussian_labels_1d(centres, weights, self.num_bins[axis],
                                  self.sigma[axis], self.normalize)
