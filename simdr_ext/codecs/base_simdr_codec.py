# Copyright (c) simdr_ext contributors. All rights reserved.
from typing import List, Optional, Tuple, Union

import numpy as np
from torch import Tensor

from mmpose.codecs.base import BaseKeypointCodec
from .utils.backend import host_array
from .utils.simdr import (KEYPOINT_SCORES, decode_simdr, keypoint_bins,
                          num_bins)
from .utils.validation import (check_choice, check_keypoint_arrays,
                               check_logit_pair, check_range, check_size)


class BaseSimDRCodec(BaseKeypointCodec):
    """What every SimDR codec shares: bins, keys, checks, batch decoding.

    A subclass labels one axis (:meth:`axis_labels`) and may set the
    decoder's ``peaks`` and ``decode_refine`` (:func:`decode_simdr`; SimDR:
    ``(1, 1)`` and ``False``). This class validates ``input_size`` and
    ``split_ratio``, ``keypoint_score`` and ``score_scale`` (one of the
    subclass's ``score_scales``), computes target bins and weights
    (:func:`keypoint_bins`, then :meth:`target_weights`), checks that
    decoded vectors have ``(Wx, Wy)`` bins and decodes a batch in one call.
    Not registered.

    Note:
        - instance number: N, keypoint number: K
        - input image size: [w, h]
        - number of bins: Wx = round(w * k), Wy = round(h * k)

    Args:
        input_size (tuple): Input image size ``(w, h)`` in pixels.
        split_ratio (float): The splitting factor ``k >= 1``.
        keypoint_score (str): ``'min'`` or ``'max'``: a keypoint scores the
            smaller or the larger of its x and y scores
            (:func:`decode_simdr`). Defaults to ``'min'``.
        score_scale (str): An axis score: ``'probability'`` (softmax at
            the argmax), ``'peak'`` (over the target's peak) or ``'logit'``
            (mmpose's raw maximum), as the subclass allows. Defaults to
            ``'probability'``.
    """

    label_mapping_table = dict(
        keypoint_x_labels='keypoint_x_labels',
        keypoint_y_labels='keypoint_y_labels',
        keypoint_weights='keypoint_weights',
    )
    peaks: Tuple[float, float] = (1.0, 1.0)
    decode_refine = False
    score_scales: Tuple[str, ...] = ('probability', 'logit')

    def __init__(self,
                 input_size: Tuple[int, int],
                 split_ratio: float,
                 keypoint_score: str = 'min',
                 score_scale: str = 'probability') -> None:
        super().__init__()
        name = self.__class__.__name__
        self.input_size = check_size(name, input_size)
        self.split_ratio = check_range(
            name, 'split_ratio', split_ratio, low=1.0)
        self.num_bins = tuple(
            num_bins(s, self.split_ratio) for s in self.input_size)
        self.keypoint_score = check_choice(name, 'keypoint_score',
                                           keypoint_score, KEYPOINT_SCORES)
        self.score_scale = check_choice(name, 'score_scale', score_scale,
                                        self.score_scales)

    def target_weights(self, keypoints: np.ndarray,
                       keypoints_visible: np.ndarray,
                       weights: np.ndarray) -> np.ndarray:
        """Keypoint weights (N, K) of the labels, from input-pixel
        ``keypoints`` (N, K, D), visibility (N, K) and the on-input
        ``weights`` of :func:`keypoint_bins` (returned by default)."""
        return weights

    def axis_labels(self, axis: int, coords: np.ndarray, bins: np.ndarray,
                    weights: np.ndarray) -> np.ndarray:
        """Labels of one axis (0: x, 1: y) from coordinates in input pixels,
        their bins ``round(coords * k)`` and weights, all (N, K): float32
        in shape (N, K, L), all-zero where the weight is 0."""
        raise NotImplementedError

    def encode(self,
               keypoints: np.ndarray,
               keypoints_visible: Optional[np.ndarray] = None) -> dict:
        """Encode keypoints into x and y labels.

        Args:
            keypoints (np.ndarray): Input pixels in shape (N, K, D), D >= 2
                (x and y are used).
            keypoints_visible (np.ndarray, optional): Visibility in shape
                (N, K); ``None``: all visible. Defaults to ``None``.

        Returns:
            dict: ``keypoint_x_labels`` (N, K, Wx), ``keypoint_y_labels``
            (N, K, Wy) and ``keypoint_weights`` (N, K), all float32.
        """
        keypoints, keypoints_visible = check_keypoint_arrays(
            self.__class__.__name__, keypoints, keypoints_visible)
        bins, weights = keypoint_bins(keypoints, keypoints_visible,
                                      self.input_size, self.split_ratio)
        weights = self.target_weights(keypoints, keypoints_visible, weights)
        x_labels, y_labels = (
            self.axis_labels(i, keypoints[..., i], bins[..., i], weights)
            for i in range(2))
        return dict(
            keypoint_x_labels=x_labels,
            keypoint_y_labels=y_labels,
            keypoint_weights=weights)

    def decode(self, simcc_x: np.ndarray,
               simcc_y: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Decode x and y logits into keypoints and scores.

        Args:
            simcc_x (np.ndarray): x logits in shape (N, K, Wx) or (K, Wx),
                any real dtype (read as float32, float64 as float64).
            simcc_y (np.ndarray): y logits in shape (N, K, Wy) or (K, Wy).

        Returns:
            tuple:
            - keypoints (np.ndarray): Input pixels in shape (N, K, 2).
            - scores (np.ndarray): Scores in shape (N, K), in [0, 1]
              unless ``score_scale='logit'``.
        """
        return self._decode(simcc_x, simcc_y, 'decode')

    def decode_torch(self, simcc_x: Tensor,
                     simcc_y: Tensor) -> Tuple[Tensor, Tensor]:
        """Torch twin of :meth:`decode`, for use inside a model or export:
        the same keypoints on the same numbers (ints, inf and NaN included),
        scores equal to float rounding; shapes as :meth:`decode`."""
        return self._decode(simcc_x, simcc_y, 'decode_torch')

    def _decode(self, simcc_x, simcc_y, method: str):
        """:func:`check_logit_pair`, bin counts ``(Wx, Wy)``, then
        :func:`decode_simdr` on (N, K, W) arrays or tensors."""
        name = self.__class__.__name__
        simcc_x, simcc_y = check_logit_pair(name, method, simcc_x, simcc_y,
                                            method == 'decode_torch')
        got = (simcc_x.shape[-1], simcc_y.shape[-1])
        if got != self.num_bins:
            raise ValueError(
                f'{name} expects {self.num_bins[0]} x bins and '
                f'{self.num_bins[1]} y bins (input_size {self.input_size}, '
                f'split_ratio {self.split_ratio}), got {got[0]} and '
                f'{got[1]}: the head and the codec disagree')
        if simcc_x.ndim == 2:
            simcc_x, simcc_y = simcc_x[None], simcc_y[None]
        return decode_simdr(simcc_x, simcc_y, self.split_ratio, self.peaks,
                            self.decode_refine, self.keypoint_score,
                            self.score_scale)

    def batch_decode(
        self, batch_simcc_x: Union[Tensor, np.ndarray],
        batch_simcc_y: Union[Tensor, np.ndarray]
    ) -> Tuple[List[np.ndarray], List[np.ndarray]]:
        """Decode a batch of top-down logits (B, K, Wx) / (B, K, Wy) in one
        call: lists of B keypoint arrays (1, K, 2) and B score arrays (1, K),
        one per data sample. Tensors of any float dtype (``bfloat16`` of
        autocast included) are decoded in float32 (:func:`host_array`)."""
        # numpy on the host: (B, K, W) vectors are small, and numpy's argmax
        # beats torch's per-call overhead at these sizes
        keypoints, scores = self.decode(
            host_array(batch_simcc_x), host_array(batch_simcc_y))
        return list(keypoints[:, None]), list(scores[:, None])
