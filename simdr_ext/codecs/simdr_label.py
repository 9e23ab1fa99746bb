# Copyright (c) simdr_ext contributors. All rights reserved.
from typing import Tuple

import numpy as np

from mmpose.registry import KEYPOINT_CODECS
from .base_simdr_codec import BaseSimDRCodec
from .utils.simdr import smoothed_one_hot
from .utils.validation import check_range


@KEYPOINT_CODECS.register_module()
class SimDRLabel(BaseSimDRCodec):
    r"""SimDR: x and y as two 1D classification targets.

    Implements SimDR eq. (2)-(5) of `SimCC: a Simple Coordinate Classification
    Perspective for Human Pose Estimation`_ (first published as SimDR): every
    keypoint coordinate is scaled by the splitting factor ``k``, rounded to a
    bin, and written as a (label-smoothed) one-hot vector of ``round(w * k)``
    bins for x and ``round(h * k)`` bins for y. Decoding takes the argmax bin
    of each vector and divides by ``k``, which bounds the quantisation error
    by ``1 / (2k)`` pixels (SimDR Appendix D).

    Coordinate convention: a keypoint at ``x`` is the centre of input pixel
    ``x``, bin ``i`` covers ``x * k`` in ``[i - 1/2, i + 1/2)`` and decodes to
    ``i / k``; invisible (``keypoints_visible < 0.5``), non-finite and
    off-input keypoints get weight 0 and an all-zero label.

    Differences from mmpose's ``SimCCLabel(smoothing_type='standard')``: a
    float ``k`` such as 1.5 is exact (the bin count is rounded, not
    truncated), invisible keypoints get weight 0 (not only off-input ones),
    and decoded scores are softmax probabilities in (0, 1] instead of raw
    logits, so score thresholds mean the same for every model.

    Note:
        - N instances of K keypoints in an input image of size [w, h]
        - Wx = round(w * k) x bins and Wy = round(h * k) y bins

    Encoded:
        - keypoint_x_labels (np.ndarray): one-hot x labels, (N, K, Wx)
        - keypoint_y_labels (np.ndarray): one-hot y labels, (N, K, Wy)
        - keypoint_weights (np.ndarray): 0 / 1 weights, (N, K)

    Args:
        input_size (tuple): Input image size ``(w, h)`` in pixels.
        split_ratio (float): The splitting factor ``k >= 1``. Defaults to 2.0.
        label_smoothing (float): ``eps`` in ``[0, 1)``: the target bin gets
            ``1 - eps`` and every other bin ``eps / (L - 1)``. Defaults to
            0.0.
        keypoint_score (str): ``'min'`` or ``'max'`` of the x and y scores
            (the SimDR authors: ``'max'``, SimCC ``lib/core/function.py``
            validate_simdr l.351-352). Defaults to ``'min'``.
        score_scale (str): ``'probability'`` (softmax at the argmax) or
            ``'logit'`` (the raw maximum; <= 0 decodes to ``-1 / k`` px,
            as mmpose 1.3.2's ``SimCCLabel``). Defaults to
            ``'probability'``.

    .. _`SimCC: a Simple Coordinate Classification Perspective for Human Pose
       Estimation`: https://arxiv.org/abs/2107.03332
    """

    def __init__(self,
                 input_size: Tuple[int, int],
                 split_ratio: float = 2.0,
                 label_smoothing: float = 0.0,
                 keypoint_score: str = 'min',
                 score_scale: str = 'probability') -> None:
        super().__init__(input_size, split_ratio, keypoint_score,
                         score_scale)
        self.label_smoothing = check_range(
            self.__class__.__name__,
            'label_smoothing',
            label_smoothing,
            low=0.0,
            high=1.0,
            high_inclusive=False)

    def axis_labels(self, axis: int, coords: np.ndarray, bins: np.ndarray,
                    weights: np.ndarray) -> np.ndarray:
        """SimDR eq. (3)/(4): (smoothed) one-hot labels, shape (N, K, L)."""
        return smoothed_one_hot(bins, weights, self.num_bins[axis],
                                self.label_smoothing)
