# Copyright (c) simdr_ext contributors. All rights reserved.
from typing import List, Optional, Tuple, Union

import numpy as np
import torch
from torch import Tensor

from mmpose.codecs.base import BaseKeypointCodec
from mmpose.registry import KEYPOINT_CODECS
from .utils.simdr import (decode_simdr, decode_simdr_torch, keypoint_bins,
                          num_bins, smoothed_one_hot)
from .utils.validation import (check_input_size, check_keypoint_arrays,
                               check_range)


@KEYPOINT_CODECS.register_module()
class SimDRLabel(BaseKeypointCodec):
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
        - instance number: N
        - keypoint number: K
        - input image size: [w, h]
        - number of bins: Wx = round(w * k), Wy = round(h * k)

    Encoded:
        - keypoint_x_labels (np.ndarray): x labels in shape (N, K, Wx)
        - keypoint_y_labels (np.ndarray): y labels in shape (N, K, Wy)
        - keypoint_weights (np.ndarray): weights in shape (N, K)

    Args:
        input_size (tuple): Input image size ``(w, h)`` in pixels.
        split_ratio (float): The splitting factor ``k >= 1``. Defaults to 2.0.
        label_smoothing (float): ``eps`` in ``[0, 1)``: the target bin gets
            ``1 - eps`` and every other bin ``eps / (L - 1)``. Defaults to
            0.0.

    .. _`SimCC: a Simple Coordinate Classification Perspective for Human Pose
       Estimation`: https://arxiv.org/abs/2107.03332
    """

    label_mapping_table = dict(
        keypoint_x_labels='keypoint_x_labels',
        keypoint_y_labels='keypoint_y_labels',
        keypoint_weights='keypoint_weights',
    )

    def __init__(self,
                 input_size: Tuple[int, int],
                 split_ratio: float = 2.0,
                 label_smoothing: float = 0.0) -> None:
        super().__init__()
        name = self.__class__.__name__
        self.input_size = check_input_size(name, input_size)
        self.split_ratio = check_range(
            name, 'split_ratio', split_ratio, low=1.0)
        self.label_smoothing = check_range(
            name, 'label_smoothing', label_smoothing, low=0.0, high=1.0,
            high_inclusive=False)
        self.num_bins = tuple(
            num_bins(s, self.split_ratio) for s in self.input_size)

    def encode(self,
               keypoints: np.ndarray,
               keypoints_visible: Optional[np.ndarray] = None) -> dict:
        """Encode keypoints into SimDR labels (SimDR eq. (2)-(4)).

        Args:
            keypoints (np.ndarray): Keypoints in input pixels, shape
                (N, K, D) with D >= 2 (only x and y are used).
            keypoints_visible (np.ndarray, optional): Visibility in shape
                (N, K). ``None`` means all visible. Defaults to ``None``.

        Returns:
            dict: ``keypoint_x_labels`` (N, K, Wx), ``keypoint_y_labels``
            (N, K, Wy) and ``keypoint_weights`` (N, K), all float32.
        """
        keypoints, keypoints_visible = check_keypoint_arrays(
            self.__class__.__name__, keypoints, keypoints_visible)
        bins, weights = keypoint_bins(keypoints, keypoints_visible,
                                      self.input_size, self.split_ratio)
        x_labels, y_labels = (
            smoothed_one_hot(bins[..., i], weights, self.num_bins[i],
                             self.label_smoothing) for i in range(2))
        return dict(
            keypoint_x_labels=x_labels,
            keypoint_y_labels=y_labels,
            keypoint_weights=weights)

    def _check_vectors(self, simcc_x, simcc_y) -> None:
        got = (simcc_x.shape[-1], simcc_y.shape[-1])
        if got != self.num_bins:
            raise ValueError(
                f'{self.__class__.__name__} expects {self.num_bins[0]} x bins'
                f' and {self.num_bins[1]} y bins (input_size '
                f'{self.input_size}, split_ratio {self.split_ratio}), got '
                f'{got[0]} and {got[1]}: the head and the codec disagree')

    def decode(self, simcc_x: np.ndarray,
               simcc_y: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Decode SimDR vectors (SimDR eq. (5)).

        Args:
            simcc_x (np.ndarray): x logits in shape (N, K, Wx) or (K, Wx).
            simcc_y (np.ndarray): y logits in shape (N, K, Wy) or (K, Wy).

        Returns:
            tuple:
            - keypoints (np.ndarray): Input pixels in shape (N, K, 2).
            - scores (np.ndarray): Softmax confidence in (0, 1], the smaller
              of the x and y probabilities at their argmax, shape (N, K).
        """
        self._check_vectors(simcc_x, simcc_y)
        if simcc_x.ndim == 2:
            simcc_x, simcc_y = simcc_x[None], simcc_y[None]
        return decode_simdr(simcc_x, simcc_y, self.split_ratio)

    def decode_torch(self, simcc_x: Tensor,
                     simcc_y: Tensor) -> Tuple[Tensor, Tensor]:
        """Torch twin of :meth:`decode`, for use inside a model or export.

        Args:
            simcc_x (Tensor): x logits in shape (N, K, Wx).
            simcc_y (Tensor): y logits in shape (N, K, Wy).

        Returns:
            tuple: keypoints (N, K, 2) and scores (N, K), as :meth:`decode`.
        """
        self._check_vectors(simcc_x, simcc_y)
        return decode_simdr_torch(simcc_x, simcc_y, self.split_ratio)

    def batch_decode(
        self, batch_simcc_x: Union[Tensor, np.ndarray],
        batch_simcc_y: Union[Tensor, np.ndarray]
    ) -> Tuple[List[np.ndarray], List[np.ndarray]]:
        """Decode a batch of top-down outputs in one vectorised call.

        Args:
            batch_simcc_x (Tensor): x logits in shape (B, K, Wx).
            batch_simcc_y (Tensor): y logits in shape (B, K, Wy).

        Returns:
            tuple: lists of B keypoint arrays (1, K, 2) and B score arrays
            (1, K), one per data sample.
        """
        keypoints, scores = self.decode_torch(
            torch.as_tensor(batch_simcc_x), torch.as_tensor(batch_simcc_y))
        keypoints = keypoints.detach().cpu().numpy()[:, None]
        scores = scores.detach().cpu().numpy()[:, None]
        return list(keypoints), list(scores)
