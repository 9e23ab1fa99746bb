# Copyright (c) simdr_ext contributors. All rights reserved.
import pytest
import torch
import torch.nn.functional as F

from mmpose.registry import MODELS
from test_nmt_norm_loss import EPS, codec_batch


def authors_nmt(out_x, out_y, labels, weights, eps):
    """SimCC lib/core/loss.py NMTCritierion l.100-149, transcribed: per
    keypoint and axis, KLDivLoss(reduction='none') of the log-softmax and
    the smoothed one-hot of the integer label, summed over bins, times the
    weight, summed over the batch; x + y summed over keypoints, / N."""
    loss = 0
    for k in range(out_x.size(1)):
        for axis, out in enumerate((out_x, out_y)):
            scores = F.log_softmax(out[:, k], dim=1)
            gtruth = torch.full_like(scores, eps / (scores.size(-1) - 1))
            gtruth.scatter_(1, labels[:, k, axis].unsqueeze(1), 1 - eps)
            kl = torch.sum(F.kl_div(scores, gtruth, reduction='none'), 1)
            loss = loss + kl.mul(weights[:, k]).sum()
    return loss / out_x.size(0)


def test_value_and_gradient_equal_the_authors_criterion():
    ox, oy, tx, ty, w = codec_batch(seed=3)
    labels = torch.stack([tx.argmax(-1), ty.argmax(-1)], -1)
    ours = MODELS.build(dict(type='NMTLoss'))((ox, oy), (tx, ty), w)
    g_ours = torch.autograd.grad(ours, (ox, oy))
    theirs = authors_nmt(ox, oy, labels, w, EPS)
    g_theirs = torch.autograd.grad(theirs, (ox, oy))
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-5)
    for a, b in zip(g_ours, g_theirs):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-9)


def test_gradient_is_soft_label_ce_times_weight_sum_over_n():
    """KL and CE differ by the target entropy: same gradient up to the
    divisor, N for NMT and sum(w) for SoftLabelCELoss."""
    ox, oy, tx, ty, w = codec_batch(seed=4)
    nmt = MODELS.build(dict(type='NMTLoss'))((ox, oy), (tx, ty), w)
    g_nmt = torch.autograd.grad(nmt, (ox, oy))
    ce = MODELS.build(dict(type='SoftLabelCELoss'))((ox, oy), (tx, ty), w)
    g_ce = torch.autograd.grad(ce, (ox, oy))
    scale = w.sum().item() / w.shape[0]
    for a, b in zip(g_nmt, g_ce):
        torch.testing.assert_close(a, b * scale, rtol=1e-4, atol=1e-9)


@pytest.mark.parametrize('n', [0, 2])
def test_zero_weights_and_empty_batches_give_zero_not_nan(n):
    ox = torch.randn(n, 5, 96, requires_grad=True)
    oy = torch.randn(n, 5, 128, requires_grad=True)
    tx, ty = torch.zeros(n, 5, 96), torch.zeros(n, 5, 128)
    loss = MODELS.build(dict(type='NMTLoss'))((ox, oy), (tx, ty),
                                              torch.zeros(n, 5))
    assert loss.item() == 0.0
    loss.backward()
    assert torch.isfinite(ox.grad).all()


def authors_kl_discret(out_x, out_y, target_x, target_y, weights):
    """SimCC lib/core/loss.py KLDiscretLoss l.22-46, transcribed: per
    keypoint and axis KLDivLoss(reduction='none') of the log-softmax and
    the Gaussian target as given, mean over bins, times the weight, mean
    over the batch; x + y summed over keypoints, / K."""
    loss = 0
    for k in range(out_x.size(1)):
        for out, target in ((out_x, target_x), (out_y, target_y)):
            scores = F.log_softmax(out[:, k], dim=1)
            kl = torch.mean(F.kl_div(scores, target[:, k], reduction='none'),
                            1)
            loss = loss + kl.mul(weights[:, k]).mean()
    return loss / out_x.size(1)


@pytest.mark.parametrize('off_crop', ['zero_weight', 'truncated'])
def test_nmt_norm_loss_is_the_sasimdr_kl_discret_loss(off_crop):
    """On SASimDRLabel targets (a keypoint near the edge: a Gaussian cut
    by the crop, not renormalised) NMTNormLoss is KLDiscretLoss."""
    import numpy as np
    from mmpose.registry import KEYPOINT_CODECS
    codec = KEYPOINT_CODECS.build(
        dict(type='SASimDRLabel', input_size=(48, 64), sigma=4.0,
             off_crop=off_crop))
    rng = np.random.default_rng(5)
    kpts = rng.uniform(0, 47, (3, 17, 2)).astype(np.float32)
    kpts[0, 0] = (0.5, 30.0)  # its Gaussian is cut by the left edge
    kpts[1, 2] = (49.0, 30.0)  # just off the crop
    enc = codec.encode(kpts, (rng.uniform(size=(3, 17)) > 0.2) * 1.0)
    tx, ty = (torch.from_numpy(enc[f'keypoint_{a}_labels']) for a in 'xy')
    w = torch.from_numpy(enc['keypoint_weights']).float()
    torch.manual_seed(5)
    ox = (3 * torch.randn(tx.shape)).requires_grad_()
    oy = (3 * torch.randn(ty.shape)).requires_grad_()
    ours = MODELS.build(dict(type='NMTNormLoss'))((ox, oy), (tx, ty), w)
    theirs = authors_kl_discret(ox, oy, tx, ty, w)
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-5)
    for a, b in zip(torch.autograd.grad(ours, (ox, oy)),
                    torch.autograd.grad(theirs, (ox, oy))):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-9)
