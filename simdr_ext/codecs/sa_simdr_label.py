# Copyright (c) simdr_ext contributors. All rights reserved.
from typing import Sequence, Tuple, Union

import numpy as np

from mmpose.registry import KEYPOINT_CODECS
from .base_simdr_codec import BaseSimDRCodec
from .utils.gaussian import gaussian_labels_1d, label_peak_probability
from .utils.validation import check_sigma


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

    .. _`SimCC: a Simple Coordinate Classification Perspective for Human Pose
       Estimation`: https://arxiv.org/abs/2107.03332
    """

    def __init__(self,
                 input_size: Tuple[int, int],
                 split_ratio: float = 2.0,
                 sigma: Union[float, Sequence[float]] = 6.0,
                 normalize: bool = True,
                 round_center: bool = False,
                 decode_refine: bool = False) -> None:
        super().__init__(input_size, split_ratio)
        self.sigma = check_sigma(self.__class__.__name__, sigma,
                                 self.num_bins)
        self.normalize = bool(normalize)
        self.round_center = bool(round_center)
        self.decode_refine = bool(decode_refine)
        self.peaks = tuple(label_peak_probability(s) for s in self.sigma)

    def axis_labels(self, axis: int, coords: np.ndarray, bins: np.ndarray,
                    weights: np.ndarray) -> np.ndarray:
        """SimDR* eq. (6)/(7): Gaussian labels, shape (N, K, L)."""
        if self.round_center:
            centres = bins.astype(np.float64)
        else:
            centres = coords * self.split_ratio
        return gaussian_labels_1d(centres, weights, self.num_bins[axis],
                                  self.sigma[axis], self.normalize)
