# Copyright (c) simdr_ext contributors. All rights reserved.
"""What SimDRKLLoss and SoftLabelCELoss share through SimDRAxisLoss: the
weighted mean over keypoints, loss_weight, empty and all-invisible batches,
shape checks."""
import pytest
import torch

import simdr_ext  # noqa: F401 (registers the losses)
from mmpose.registry import MODELS


def kl(pred, target):  # targets that sum to 1: bin-mean KL
    return (target * (target.log() - pred.log_softmax(-1))).mean(-1)


def ce(pred, target):
    return -(target * pred.log_softmax(-1)).sum(-1)


PER_AXIS = {'SimDRKLLoss': kl, 'SoftLabelCELoss': ce}


@pytest.mark.parametrize('name', list(PER_AXIS))
def test_mean_over_weighted_keypoints_and_loss_weight(name):
    gen = torch.Generator().manual_seed(0)
    px, py = torch.randn(
        2, 3, 8, generator=gen), torch.randn(
            2, 3, 6, generator=gen)
    tx = torch.softmax(torch.randn(2, 3, 8, generator=gen), -1)
    ty = torch.softmax(torch.randn(2, 3, 6, generator=gen), -1)
    w = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    per_kpt = PER_AXIS[name](px, tx) + PER_AXIS[name](py, ty)
    expected = (per_kpt * w).sum() / w.sum()
    loss = MODELS.build(dict(type=name, loss_weight=2.0))((px, py), (tx, ty),
                                                          w)
    assert loss.item() == pytest.approx(2 * expected.item(), rel=1e-6)
    unweighted = MODELS.build(dict(type=name, use_target_weight=False))(
        (px, py), (tx, ty), w)
    assert unweighted.item() == pytest.approx(per_kpt.mean().item(), rel=1e-6)


@pytest.mark.parametrize(
    'use_target_weight', [True, False], ids=['weighted', 'unweighted'])
@pytest.mark.parametrize('name', list(PER_AXIS))
def test_empty_batch_is_zero_with_gradient(name, use_target_weight):
    px = torch.zeros(0, 17, 8, requires_grad=True)
    py = torch.zeros(0, 17, 6, requires_grad=True)
    loss = MODELS.build(dict(type=name, use_target_weight=use_target_weight))(
        (px, py), (torch.zeros(0, 17, 8), torch.zeros(0, 17, 6)),
        torch.zeros(0, 17))
    assert loss.item() == 0.0
    loss.backward()
    assert px.grad is not None and px.grad.shape == px.shape


@pytest.mark.parametrize('name', list(PER_AXIS))
def test_no_visible_keypoint_gives_zero_with_gradient(name):
    px = torch.randn(2, 3, 8, requires_grad=True)
    py = torch.randn(2, 3, 6, requires_grad=True)
    # invisible keypoints: all-zero labels, weight 0
    tx, ty = torch.zeros(2, 3, 8), torch.zeros(2, 3, 6)
    loss = MODELS.build(dict(type=name))((px, py), (tx, ty), torch.zeros(2, 3))
    assert loss.item() == 0.0 and torch.isfinite(loss)
    loss.backward()
    assert torch.all(px.grad == 0) and torch.all(torch.isfinite(py.grad))


@pytest.mark.parametrize('name', list(PER_AXIS))
def test_shape_mismatch_is_reported(name):
    with pytest.raises(
            AssertionError,
            match=r'pred \(1, 2, 8\) and target '
            r'\(1, 2, 9\) must have the same shape'):
        MODELS.build(dict(type=name))(
            (torch.zeros(1, 2, 8), torch.zeros(1, 2, 6)),
            (torch.zeros(1, 2, 9), torch.zeros(1, 2, 6)), None)
