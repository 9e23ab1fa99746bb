# Copyright (c) simdr_ext contributors. All rights reserved.
from typing import List, Optional, Tuple, Union

import numpy as np
import torch
from torch import Tensor

from mmpose.codecs.base import BaseKeypointCodec
from mmpose.registry import KEYPOINT_CODECS
from .utils.backend import cast, host_array
from .utils.dark import heatmap_argmax, refine_dark, refine_shift
from .utils.gaussian import gaussian_heatmaps
from .utils.simdr import OFF_CROP, keypoint_bins, margin_weights
from .utils.validation import (check_choice, check_keypoint_arrays,
                               check_sigma, check_size)

DECODE_MODES = ('argmax', 'shift', 'dark')


@KEYPOINT_CODECS.register_module()
class DarkHeatmap(BaseKeypointCodec):
    r"""Gaussian heatmaps with DARK's unbiased encoding and decoding.

    Implements `Distribution-Aware Coordinate Representation for Human Pose
    Estimation`_. Encoding: keypoint ``g`` becomes ``g' = g / lambda`` in
    heatmap pixels (eq. 12) and a Gaussian of peak 1 centred at ``g'``
    (``unbiased``, eq. 14) or at ``round(g')`` (eq. 13-14, Table 3's biased
    encoding). Decoding: argmax, then nothing (``'argmax'``), eq. 1's 1/4
    pixel shift (``'shift'``) or modulation + Taylor step (eq. 9-11,
    ``'dark'``, on the patch its 5x5 window reads: O(K ks^2), not
    O(K H W ks); see :mod:`simdr_ext.codecs.utils.dark`), then ``x lambda``
    (eq. 2). Scores are heatmap maxima, as mmpose's; a map whose max is
    <= 0 decodes to heatmap pixel (-1, -1).

    Coordinate convention: heatmap pixel ``i`` is centred on input pixel
    ``i * lambda`` (``lambda = w / W`` per axis, mmpose's); invisible
    (``keypoints_visible < 0.5``), non-finite and off-map keypoints
    (``round(g')`` off the map: :class:`SimDRLabel`'s rule, not mmpose's
    3-sigma rule) get weight 0 and add nothing. N > 1 instances merge by a
    per-keypoint maximum like mmpose's multi-instance generators; N = 1 is
    mmpose's ``MSRAHeatmap`` layout.

    Note:
        - N instances, K keypoints, input image size [w, h]
        - heatmap size [W, H], with W <= w and H <= h

    Encoded:
        - heatmaps (np.ndarray): float32 heatmaps in shape (K, H, W)
        - keypoint_weights (np.ndarray): float32 weights in shape (N, K)

    Args:
        input_size (tuple): Input image size ``(w, h)`` in pixels.
        heatmap_size (tuple): Heatmap size ``(W, H)``, at most
            ``input_size`` on each axis.
        sigma (float): Gaussian standard deviation in heatmap pixels, in
            ``[1e-3, max(W, H)]``. Defaults to 2.0.
        unbiased (bool): Centre the Gaussian at the unquantised ``g'``.
            Defaults to ``True``.
        decode_mode (str): ``'argmax'``, ``'shift'`` or ``'dark'``.
            Defaults to ``'dark'``.
        blur_kernel_size (int): Odd size of the modulation kernel; OpenCV's
            sigma ``0.3 ((ks - 1) / 2 - 1) + 0.8`` should match ``sigma``
            (11 for 2, 17 for about 3). Defaults to 11.
        off_crop (str): ``'zero_weight'``: a keypoint whose ``round(g')``
            is off the map gets weight 0 (above). ``'truncated'``: a
            visible keypoint keeps weight 1 and the part of its Gaussian
            that falls on the map while ``-3 sigma - 2 < g' < W + 3 sigma``
            (likewise for y), in heatmap pixels: DarkPose
            ``lib/dataset/JointsDataset.py`` generate_target l.257-275 and
            adjust_target_weight l.283-295 (``tmp_size = 3 sigma``,
            ``int`` truncating toward zero;
            :func:`~simdr_ext.codecs.utils.simdr.margin_weights`), centred
            at the unquantised ``g'`` (l.266-267) with ``unbiased``.
            Defaults to ``'zero_weight'``.

    .. _`Distribution-Aware Coordinate Representation for Human Pose
       Estimation`: https://arxiv.org/abs/1910.06278
    """

    label_mapping_table = dict(keypoint_weights='keypoint_weights')
    field_mapping_table = dict(heatmaps='heatmaps')

    def __init__(self,
                 input_size: Tuple[int, int],
                 heatmap_size: Tuple[int, int],
                 sigma: float = 2.0,
                 unbiased: bool = True,
                 decode_mode: str = 'dark',
                 blur_kernel_size: int = 11,
                 off_crop: str = 'zero_weight') -> None:
        super().__init__()
        name = self.__class__.__name__
        self.off_crop = check_choice(name, 'off_crop', off_crop, OFF_CROP)
        self.input_size = check_size(name, input_size)
        self.heatmap_size = check_size(name, heatmap_size, 'heatmap_size')
        if any(hs > s for hs, s in zip(self.heatmap_size, self.input_size)):
            raise ValueError(
                f'{name} got heatmap_size={heatmap_size!r} larger than '
                f'input_size={input_size!r}: expected a downsampling ratio '
                '>= 1 (DARK eq. 12); are (W, H) and (w, h) swapped?')
        self.sigma, = check_sigma(name, sigma, (max(self.heatmap_size), ))
        self.unbiased = bool(unbiased)
        if decode_mode not in DECODE_MODES:
            raise ValueError(f'{name} got decode_mode={decode_mode!r}: '
                             f'expected one of {DECODE_MODES}')
        self.decode_mode = decode_mode
        if type(blur_kernel_size) is not int or blur_kernel_size < 1 \
                or blur_kernel_size % 2 == 0:
            raise ValueError(f'{name} got blur_kernel_size='
                             f'{blur_kernel_size!r}: expected an odd '
                             'positive integer')
        self.blur_kernel_size = blur_kernel_size
        # lambda of eq. (2) / (12), per axis
        self.scale_factor = np.divide(self.input_size, self.heatmap_size)

    def encode(self,
               keypoints: np.ndarray,
               keypoints_visible: Optional[np.ndarray] = None) -> dict:
        """DARK eq. (12)-(14): ``heatmaps`` (K, H, W), the per-keypoint max
        over the N instances, and ``keypoint_weights`` (N, K), both float32,
        from input-pixel ``keypoints`` (N, K, D >= 2) and
        ``keypoints_visible`` (N, K; ``None``: all visible)."""
        keypoints, keypoints_visible = check_keypoint_arrays(
            self.__class__.__name__, keypoints, keypoints_visible)
        scaled = keypoints / self.scale_factor  # g' of eq. (12)
        # split_ratio 1 on heatmap pixels: round(g') must lie on the map
        _, weights = keypoint_bins(scaled, keypoints_visible,
                                   self.heatmap_size, 1.0)
        if self.off_crop == 'truncated':
            weights = margin_weights(scaled, keypoints_visible,
                                     self.heatmap_size,
                                     (3 * self.sigma, ) * 2)
        if self.unbiased:
            centres = scaled
        else:
            # round(g'), halves up (keypoint_bins' rule), also off the map
            with np.errstate(invalid='ignore'):
                centres = np.floor(scaled[..., :2] + 0.5)
        heatmaps = gaussian_heatmaps(centres, weights, self.heatmap_size,
                                     self.sigma)
        return dict(heatmaps=heatmaps, keypoint_weights=weights)

    def decode(self, encoded: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Decode heatmaps into input-pixel keypoints (DARK Sec. 3.1).

        ``'dark'`` departs from mmpose and the DARK code (measured in
        ``docs/dark_decoding.md``): border keypoints are refined too, and
        the Taylor step is taken only where the log map is a blurred blob,
        clipped at 3 heatmap px per axis and kept on the map
        (:func:`~simdr_ext.codecs.utils.dark.refine_dark`).

        Args:
            encoded (np.ndarray): Heatmaps in shape (K, H, W) (one instance,
                as mmpose's heads pass them) or (N, K, H, W); floats
                narrower than 32 bits are read as float32.

        Returns:
            tuple:
            - keypoints (np.ndarray): Float32 input pixels in shape
              (N, K, 2), N = 1 for (K, H, W) input.
            - scores (np.ndarray): Float32 heatmap maxima in shape (N, K).
        """
        return self._decode(host_array(encoded))

    def decode_torch(self, heatmaps: Tensor) -> Tuple[Tensor, Tensor]:
        """Torch twin of :meth:`decode` (batched, same results, exportable):
        float32 keypoints (N, K, 2) and scores (N, K) from heatmaps
        (N, K, H, W) or (K, H, W)."""
        return self._decode(heatmaps)

    def _decode(self, heatmaps):
        width, height = self.heatmap_size
        if heatmaps.ndim not in (3, 4) or tuple(
                heatmaps.shape[-2:]) != (height, width):
            raise ValueError(
                f'{self.__class__.__name__} expects heatmaps in shape '
                f'(K, {height}, {width}) or (N, K, {height}, {width}) '
                f'(heatmap_size {self.heatmap_size}), got '
                f'{tuple(heatmaps.shape)}')
        if heatmaps.ndim == 3:
            heatmaps = heatmaps[None]
        locs, scores = heatmap_argmax(heatmaps)
        scale = self.scale_factor  # lambda of eq. (2)
        if isinstance(heatmaps, Tensor):
            scale = torch.from_numpy(scale).to(heatmaps.device)
        if self.decode_mode == 'shift':
            locs = refine_shift(heatmaps, locs)
        elif self.decode_mode == 'dark':
            locs = refine_dark(heatmaps, locs, self.blur_kernel_size)
        return cast(locs * scale, 'float32'), cast(scores, 'float32')

    def batch_decode(
        self, batch_heatmaps: Union[Tensor, np.ndarray]
    ) -> Tuple[List[np.ndarray], List[np.ndarray]]:
        """Decode a batch of top-down heatmaps (B, K, H, W) in one
        :meth:`decode` call (mmpose's ``BaseHead.decode`` passes the
        flip-averaged batch): lists of B keypoint arrays (1, K, 2) and B
        score arrays (1, K), one per data sample; tensors of any float
        dtype (``bfloat16`` included) are decoded in float32."""
        # numpy on the host: the windowed decoder reads a few pixels per
        # keypoint, and is faster there than torch's small-tensor overhead
        keypoints, scores = self.decode(host_array(batch_heatmaps))
        return list(keypoints[:, None]), list(scores[:, None])
