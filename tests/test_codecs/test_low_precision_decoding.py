# Copyright (c) simdr_ext contributors. All rights reserved.
"""Decoding reads bfloat16 and float16 outputs in float32: the numpy
decoders (``decode``, ``batch_decode``) give the keypoints of the same
values cast to float32."""
import numpy as np
import pytest
import torch

import simdr_ext  # noqa: F401 (registers the codecs)
from mmpose.registry import KEYPOINT_CODECS

INPUT_SIZE = (48, 64)
CODECS = {
    'SimDRLabel':
    dict(type='SimDRLabel', input_size=INPUT_SIZE, split_ratio=2.0),
    'SASimDRLabel':
    dict(
        type='SASimDRLabel',
        input_size=INPUT_SIZE,
        split_ratio=2.0,
        sigma=2.0,
        decode_refine=True),
    'DarkHeatmap':
    dict(
        type='DarkHeatmap',
        input_size=INPUT_SIZE,
        heatmap_size=(12, 16),
        sigma=2.0,
        decode_mode='dark',
        blur_kernel_size=5),
}


def outputs(name, dtype):
    """(B=3, K=4) logits or heatmaps as ``dtype`` tensors."""
    gen = torch.Generator().manual_seed(0)
    if name == 'DarkHeatmap':
        shapes = [(3, 4, 16, 12)]
    else:
        shapes = [(3, 4, 96), (3, 4, 128)]
    return [(torch.randn(s, generator=gen) * 4).to(dtype) for s in shapes]


@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16],
                         ids=['bf16', 'fp16'])
@pytest.mark.parametrize('name', list(CODECS))
def test_batch_decode_reads_low_precision_tensors_in_float32(name, dtype):
    codec = KEYPOINT_CODECS.build(CODECS[name])
    low = outputs(name, dtype)
    keypoints, scores = codec.batch_decode(*low)
    ref_kp, ref_sc = codec.batch_decode(*(t.float() for t in low))
    assert len(keypoints) == len(scores) == 3
    for kp, sc, rk, rs in zip(keypoints, scores, ref_kp, ref_sc):
        assert kp.dtype == sc.dtype == np.float32
        np.testing.assert_array_equal(kp, rk)
        np.testing.assert_array_equal(sc, rs)


def test_dark_decode_reads_float16_arrays_in_float32():
    codec = KEYPOINT_CODECS.build(CODECS['DarkHeatmap'])
    heatmaps = outputs('DarkHeatmap', torch.float16)[0].numpy()
    keypoints, scores = codec.decode(heatmaps)
    ref_kp, ref_sc = codec.decode(heatmaps.astype(np.float32))
    np.testing.assert_array_equal(keypoints, ref_kp)
    np.testing.assert_array_equal(scores, ref_sc)
