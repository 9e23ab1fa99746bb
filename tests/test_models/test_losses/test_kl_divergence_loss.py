# Copyright (c) simdr_ext contributors. All rights reserved.
import math

import numpy as np
import pytest
import torch

import simdr_ext  # noqa: F401 (registers the loss)
from mmpose.models.losses import KLDiscretLoss
from mmpose.registry import KEYPOINT_CODECS, MODELS


def build(**kwargs):
    return MODELS.build(dict(type='SimDRKLLoss', **kwargs))


def test_value_against_hand_computation():
    # one instance, one keypoint, 3 bins on each axis
    px = torch.tensor([[[0.0, math.log(2.0), 0.0]]])  # softmax 1/4 1/2 1/4
    py = torch.zeros(1, 1, 3)  # softmax 1/3 1/3 1/3
    tx = torch.tensor([[[0.2, 0.6, 0.2]]])
    ty = torch.tensor([[[0.0, 1.0, 0.0]]])  # 0 log 0 = 0
    # KL = sum_i t_i (log t_i - log p_i), then the mean over the 3 bins
    kl_x = (2 * 0.2 * math.log(0.2 / 0.25) + 0.6 * math.log(0.6 / 0.5)) / 3
    kl_y = math.log(1 / (1 / 3)) / 3
    loss = build()((px, py), (tx, ty), torch.ones(1, 1))
    assert loss.item() == pytest.approx(kl_x + kl_y, rel=1e-6)
    # targets are normalised first: a scaled target gives the same loss
    scaled = build()((px, py), (tx * 2.5, ty * 0.1), torch.ones(1, 1))
    assert scaled.item() == pytest.approx(loss.item(), rel=1e-6)


def test_equals_mmpose_kl_discret_loss_for_one_visible_instance():
    """mmpose: sum over N*K of w * bin-mean KL, / K; ours: the weighted
    mean over keypoints. They agree for N = 1, all weights 1, and targets
    that sum to 1."""
    torch.manual_seed(0)
    px, py = torch.randn(1, 5, 12), torch.randn(1, 5, 16)
    tx = torch.softmax(torch.randn(1, 5, 12), -1)
    ty = torch.softmax(torch.randn(1, 5, 16), -1)
    w = torch.ones(1, 5)
    ref = KLDiscretLoss(use_target_weight=True)((px, py), (tx, ty), w)
    ours = build()((px, py), (tx, ty), w)
    assert ours.item() == pytest.approx(ref.item(), rel=1e-5)


def test_zero_at_a_perfect_prediction_of_sa_simdr_labels():
    codec = KEYPOINT_CODECS.build(
        dict(type='SASimDRLabel', input_size=(48, 64), sigma=2.0))
    enc = codec.encode(np.array([[[10.3, 20.6], [30.0, 40.0]]]))
    tx, ty = (
        torch.from_numpy(enc[k])
        for k in ('keypoint_x_labels', 'keypoint_y_labels'))
    # logits = log of the labels: softmax gives the normalised labels back
    px = tx.clamp(min=1e-30).log().requires_grad_()
    py = ty.clamp(min=1e-30).log().requires_grad_()
    w = torch.from_numpy(enc['keypoint_weights'])
    loss = build()((px, py), (tx, ty), w)
    # float32: each bin of log t - log softmax errs ~ 1e-7
    assert abs(loss.item()) < 1e-6
    loss.backward()
    assert px.grad.abs().max() < 1e-6  # the minimum: no gradient
    worse = build()((px.detach().roll(1, -1), py.detach()), (tx, ty), w)
    assert worse.item() > 1e-3
