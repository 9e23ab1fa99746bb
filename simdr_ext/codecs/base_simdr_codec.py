# Copyright (c) simdr_ext contributors. All rights reserved.
from typing import List, Optional, Tuple, Union

import numpy as np
from torch import Tensor

from mmpose.codecs.base import BaseKeypointCodec
from mmpose.utils.tensor_utils import to_numpy
from .utils.simdr import keypoint_bins, num_bins
from .utils.validation import (check_input_size, check_keypoint_arrays,
                               check_logit_pair, check_range)


class BaseSimDRCodec(BaseKeypointCodec):
    """What every SimDR codec shares: bins, keys, checks, batch decoding.

    A subclass defines how one axis is labelled (:meth:`axis_labels`) and
    decoded (:meth:`decode_arrays` in numpy, :meth:`decode_tensors` in
    torch); this class validates ``input_size`` and ``split_ratio``, computes
    the target bins and weights (:func:`keypoint_bins`), checks that decoded
    vectors have ``round(w * k)`` / ``round(h * k)`` bins, and decodes a
    batch of top-down outputs in one call. It is not registered.

    Note:
        - instance number: N, keypoint number: K
        - input image size: [w, h]
        - number of bins: Wx = round(w * k), Wy = round(h * k)

    Args:
        input_size (tuple): Input image size ``(w, h)`` in pixels.
        split_ratio (float): The splitting factor ``k >= 1``.
    """

    label_mapping_table = dict(
        keypoint_x_labels='keypoint_x_labels',
        keypoint_y_labels='keypoint_y_labels',
        keypoint_weights='keypoint_weights',
    )

    def __init__(self, input_size: Tuple[int, int],
                 split_ratio: float) -> None:
        super().__init__()
        name = self.__class__.__name__
        self.input_size = check_input_size(name, input_size)
        self.split_ratio = check_range(
            name, 'split_ratio', split_ratio, low=1.0)
        self.num_bins = tuple(
            num_bins(s, self.split_ratio) for s in self.input_size)

    def axis_labels(self, axis: int, coords: np.ndarray, bins: np.ndarray,
                    weights: np.ndarray) -> np.ndarray:
        """Labels of one axis.

        Args:
            axis (int): 0 for x, 1 for y.
            coords (np.ndarray): Coordinates in input pixels, shape (N, K).
            bins (np.ndarray): Rounded bins ``round(coords * k)``, (N, K).
            weights (np.ndarray): Keypoint weights (0 or 1), (N, K).

        Returns:
            np.ndarray: Float32 labels in shape (N, K, L); all-zero where the
            weight is 0.
        """
        raise NotImplementedError

    def decode_arrays(self, simcc_x: np.ndarray,
                      simcc_y: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Numpy decoding of (N, K, Wx) / (N, K, Wy) logits."""
        raise NotImplementedError

    def decode_tensors(self, simcc_x: Tensor,
                       simcc_y: Tensor) -> Tuple[Tensor, Tensor]:
        """Torch decoding of (N, K, Wx) / (N, K, Wy) logits."""
        raise NotImplementedError

    def encode(self,
               keypoints: np.ndarray,
               keypoints_visible: Optional[np.ndarray] = None) -> dict:
        """Encode keypoints into x and y labels.

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
            self.axis_labels(i, keypoints[..., i], bins[..., i], weights)
            for i in range(2))
        return dict(
            keypoint_x_labels=x_labels,
            keypoint_y_labels=y_labels,
            keypoint_weights=weights)

    def check_vectors(self,
                      simcc_x,
                      simcc_y,
                      method: str = 'decode',
                      torch_twin: bool = False):
        """Check a pair of logit arrays; return them in a float dtype.

        Raises ``ValueError`` naming the codec for a tensor given to the
        numpy decoder (or an array to the torch one), a rank other than
        (N, K, W) / (K, W), x and y with different (N, K), a non-numeric
        dtype, or bin counts other than ``(Wx, Wy)``. Integer, bool and
        float16 logits are read as float32 (float64 stays), the same on
        both twins (:func:`check_logit_pair`).

        Returns:
            tuple: ``(simcc_x, simcc_y)`` in float32 or float64.
        """
        simcc_x, simcc_y = check_logit_pair(self.__class__.__name__, method,
                                            simcc_x, simcc_y, torch_twin)
        got = (simcc_x.shape[-1], simcc_y.shape[-1])
        if got != self.num_bins:
            raise ValueError(
                f'{self.__class__.__name__} expects {self.num_bins[0]} x bins'
                f' and {self.num_bins[1]} y bins (input_size '
                f'{self.input_size}, split_ratio {self.split_ratio}), got '
                f'{got[0]} and {got[1]}: the head and the codec disagree')
        return simcc_x, simcc_y

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
            - scores (np.ndarray): Scores in [0, 1], shape (N, K).
        """
        simcc_x, simcc_y = self.check_vectors(simcc_x, simcc_y)
        if simcc_x.ndim == 2:
            simcc_x, simcc_y = simcc_x[None], simcc_y[None]
        return self.decode_arrays(simcc_x, simcc_y)

    def decode_torch(self, simcc_x: Tensor,
                     simcc_y: Tensor) -> Tuple[Tensor, Tensor]:
        """Torch twin of :meth:`decode`, for use inside a model or export.

        Same keypoints as :meth:`decode` on the same numbers (ints, inf and
        NaN included) and scores equal to float rounding.

        Args:
            simcc_x (Tensor): x logits in shape (N, K, Wx) or (K, Wx).
            simcc_y (Tensor): y logits in shape (N, K, Wy) or (K, Wy).

        Returns:
            tuple: keypoints (N, K, 2) and scores (N, K), as :meth:`decode`.
        """
        simcc_x, simcc_y = self.check_vectors(simcc_x, simcc_y,
                                              'decode_torch', True)
        if simcc_x.dim() == 2:
            simcc_x, simcc_y = simcc_x[None], simcc_y[None]
        return self.decode_tensors(simcc_x, simcc_y)

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
        # numpy on the host: (B, K, W) vectors are small, and numpy's argmax
        # beats torch's per-call overhead at these sizes
        keypoints, scores = self.decode(
            to_numpy(batch_simcc_x), to_numpy(batch_simcc_y))
        return list(keypoints[:, None]), list(scores[:, None])
