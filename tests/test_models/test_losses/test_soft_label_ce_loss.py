# Copyright (c) simdr_ext contributors. All rights reserved.
import math

import pytest
import torch

from mmpose.registry import MODELS


def build(**kwargs):
    return MODELS.build(dict(type='SoftLabelCELoss', **kwargs))


def test_value_against_hand_computation():
    # one instance, one keypoint, 3 x bins and 2 y bins
    px = torch.tensor([[[0.0, math.log(2.0), 0.0]]])  # softmax 1/4 1/2 1/4
    py = torch.tensor([[[0.0, 0.0]]])  # softmax 1/2 1/2
    tx = torch.tensor([[[0.1, 0.8, 0.1]]])
    ty = torch.tensor([[[0.0, 1.0]]])
    expected_x = -(0.1 * math.log(0.25) * 2 + 0.8 * math.log(0.5))
    expected_y = -math.log(0.5)
    loss = build()((px, py), (tx, ty), torch.ones(1, 1))
    assert loss.item() == pytest.approx(expected_x + expected_y, rel=1e-6)


def test_mean_over_weighted_keypoints_and_loss_weight():
    torch.manual_seed(0)
    px, py = torch.randn(2, 3, 8), torch.randn(2, 3, 6)
    tx = torch.softmax(torch.randn(2, 3, 8), -1)
    ty = torch.softmax(torch.randn(2, 3, 6), -1)
    w = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    per_kpt = -(tx * px.log_softmax(-1)).sum(-1) - (ty *
                                                    py.log_softmax(-1)).sum(-1)
    expected = (per_kpt * w).sum() / w.sum()
    loss = build(loss_weight=2.0)((px, py), (tx, ty), w)
    assert loss.item() == pytest.approx(2 * expected.item(), rel=1e-6)
    unweighted = build(use_target_weight=False)((px, py), (tx, ty), w)
    assert unweighted.item() == pytest.approx(per_kpt.mean().item(), rel=1e-6)


def test_no_visible_keypoint_gives_zero_with_gradient():
    px = torch.randn(2, 3, 8, requires_grad=True)
    py = torch.randn(2, 3, 6, requires_grad=True)
    tx, ty = torch.zeros(2, 3, 8), torch.zeros(2, 3, 6)
    loss = build()((px, py), (tx, ty), torch.zeros(2, 3))
    assert loss.item() == 0.0 and torch.isfinite(loss)
    loss.backward()
    assert px.grad is not None and torch.all(px.grad == 0)


def test_empty_batch_is_finite():
    px = torch.zeros(0, 17, 8, requires_grad=True)
    py = torch.zeros(0, 17, 6, requires_grad=True)
    loss = build()((px, py), (torch.zeros(0, 17, 8), torch.zeros(0, 17, 6)),
                   torch.zeros(0, 17))
    assert loss.item() == 0.0
    loss.backward()


def test_shape_mismatch_is_reported():
    with pytest.raises(AssertionError, match='same shape'):
        build()((torch.zeros(1, 2, 8), torch.zeros(1, 2, 6)),
                (torch.zeros(1, 2, 9), torch.zeros(1, 2, 6)), None)
