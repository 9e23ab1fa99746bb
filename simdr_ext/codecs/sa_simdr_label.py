# Copyright (c) simdr_ext contributors. All rights reserved.
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import Tensor

from mmpose.codecs.base import BaseKeypointCodec
from mmpose.registry import KEYPOINT_CODECS
from .utils.gaussian import (decode_gaussian_simdr,
                             decode_gaussian_simdr_torch, gaussian_labels_1d,
                             label_peak_probability)
from .utils.simdr import keypoint_bins, num_bins
from .utils.validation import (check_input_size, check_keypoint_arrays,
                               check_range, check_sigma_pair)


@KEYPOINT_CODECS.register_module()
class SASimDRLabel(BaseKeypointCodec):
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

    Decoding takes the argmax bin of each vector. With ``decode_refine`` it
    adds a 1D Taylor step: a parabola through the log-probabilities at
    argmax - 1, argmax and argmax + 1 gives the offset
    ``(l[-1] - l[+1]) / (2 (l[-1] - 2 l[0] + l[+1]))``, exact for a
    Gaussian (its log is a parabola), clamped to +-0.5 bin. Scores are
    ``softmax(o)[argmax] / p_peak(sigma)``, where ``p_peak`` is the peak of
    the target label normalised to sum 1 (about ``1 / (sigma sqrt(2 pi))``),
    the smaller of x and y, clipped to [0, 1]: a perfect prediction scores
    1 (at least ``exp(-1 / (8 sigma^2))`` for a centre between two bins),
    while raw softmax peaks of a sigma = 6 Gaussian are about 0.07 and would
    be dropped by mmpose's keypoint score threshold (leeyegy/SimCC#18).

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
        sigma (float | tuple): Gaussian standard deviation in bins, one for
            both axes or ``(sigma_x, sigma_y)``. Defaults to 6.0.
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

    label_mapping_table = dict(
        keypoint_x_labels='keypoint_x_labels',
        keypoint_y_labels='keypoint_y_labels',
        keypoint_weights='keypoint_weights',
    )

    def __init__(self,
                 input_size: Tuple[int, int],
                 split_ratio: float = 2.0,
                 sigma: Union[float, Sequence[float]] = 6.0,
                 normalize: bool = True,
                 round_center: bool = False,
                 decode_refine: bool = False) -> None:
        super().__init__()
        name = self.__class__.__name__
        self.input_size = check_input_size(name, input_size)
        self.split_ratio = check_range(
            name, 'split_ratio', split_ratio, low=1.0)
        self.sigma = check_sigma_pair(name, sigma)
        self.normalize = bool(normalize)
        self.round_center = bool(round_center)
        self.decode_refine = bool(decode_refine)
        self.num_bins = tuple(
            num_bins(s, self.split_ratio) for s in self.input_size)
        self.peaks = tuple(label_peak_probability(s) for s in self.sigma)

    def encode(self,
               keypoints: np.ndarray,
               keypoints_visible: Optional[np.ndarray] = None) -> dict:
        """Encode keypoints into SimDR* labels (SimDR* eq. (6)-(7)).

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
        if self.round_center:
            centres = bins.astype(np.float64)
        else:
            centres = keypoints * self.split_ratio
        x_labels, y_labels = (
            gaussian_labels_1d(centres[..., i], weights, self.num_bins[i],
                               self.sigma[i], self.normalize)
            for i in range(2))
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
        """Decode SimDR* vectors: argmax (+ parabola step) divided by k.

        Args:
            simcc_x (np.ndarray): x logits in shape (N, K, Wx) or (K, Wx).
            simcc_y (np.ndarray): y logits in shape (N, K, Wy) or (K, Wy).

        Returns:
            tuple:
            - keypoints (np.ndarray): Input pixels in shape (N, K, 2).
            - scores (np.ndarray): ``softmax peak / target peak`` in [0, 1],
              the smaller of x and y, shape (N, K).
        """
        self._check_vectors(simcc_x, simcc_y)
        if simcc_x.ndim == 2:
            simcc_x, simcc_y = simcc_x[None], simcc_y[None]
        return decode_gaussian_simdr(simcc_x, simcc_y, self.split_ratio,
                                     self.peaks, self.decode_refine)

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
        return decode_gaussian_simdr_torch(simcc_x, simcc_y, self.split_ratio,
                                           self.peaks, self.decode_refine)

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
