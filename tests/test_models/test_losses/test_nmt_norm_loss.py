# Copyright (c) simdr_ext contributors. All rights reserved.
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmpose.registry import KEYPOINT_CODECS, MODELS

EPS = 0.1  # label smoothing of the authors' default (lib/config/default.py
# l.63) and of the codec below


def build(**kwargs):
    return MODELS.build(dict(type='NMTNormLoss', **kwargs))


def authors_nmtnorm(out_x, out_y, labels, weights, eps):
    """SimCC lib/core/loss.py NMTNORMCritierion l.48-98, transcribed: per
    keypoint and axis, KLDivLoss(reduction='none') of the log-softmax and
    the smoothed one-hot of the integer label (eps / (L - 1) off the
    label, 1 - eps on it), mean over bins, times the weight, mean over the
    batch; x + y summed over keypoints, / K. ``labels`` (N, K, 2) int."""
    num_joints = out_x.size(1)
    loss = 0
    for k in range(num_joints):
        for axis, out in enumerate((out_x, out_y)):
            scores = F.log_softmax(out[:, k], dim=1)
            gtruth = torch.full_like(scores, eps / (scores.size(-1) - 1))
            gtruth.scatter_(1, labels[:, k, axis].unsqueeze(1), 1 - eps)
            kl = torch.mean(F.kl_div(scores, gtruth, reduction='none'), 1)
            loss = loss + kl.mul(weights[:, k]).mean()
    return loss / num_joints


def codec_batch(seed=0, n=4, k=17):
    """Random logits and SimDRLabel(label_smoothing=0.1) targets of a
    48x64 input with k = 2: some keypoints invisible, one off the crop."""
    rng = np.random.default_rng(seed)
    codec = KEYPOINT_CODECS.build(
        dict(type='SimDRLabel', input_size=(48, 64), split_ratio=2.0,
             label_smoothing=EPS))
    keypoints = rng.uniform(0, 47, (n, k, 2)).astype(np.float32)
    keypoints[0, 3] = (60.0, 10.0)  # right of the 48-pixel crop
    visible = (rng.uniform(size=(n, k)) > 0.25).astype(np.float32)
    enc = codec.encode(keypoints, visible)
    tx, ty = (torch.from_numpy(enc[f'keypoint_{a}_labels']) for a in 'xy')
    w = torch.from_numpy(enc['keypoint_weights']).float()
    assert 0 < w.sum() < w.numel()  # zero weights present
    torch.manual_seed(seed)
    ox = (3 * torch.randn(tx.shape)).requires_grad_()
    oy = (3 * torch.randn(ty.shape)).requires_grad_()
    return ox, oy, tx, ty, w


def test_value_and_gradient_equal_the_authors_criterion():
    ox, oy, tx, ty, w = codec_batch()
    labels = torch.stack([tx.argmax(-1), ty.argmax(-1)], -1)
    # the codec's targets are the authors' smoothed one-hot on the bins of
    # weighted keypoints (all zero on the others, which weigh 0)
    on = w > 0
    assert torch.allclose(tx[on].max(-1).values, torch.tensor(1 - EPS))
    assert torch.allclose(tx[on].min(-1).values,
                          torch.tensor(EPS / (tx.shape[-1] - 1)))
    ours = build()((ox, oy), (tx, ty), w)
    (g_ours_x, g_ours_y) = torch.autograd.grad(ours, (ox, oy))
    theirs = authors_nmtnorm(ox, oy, labels, w, EPS)
    (g_x, g_y) = torch.autograd.grad(theirs, (ox, oy))
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-5)
    torch.testing.assert_close(g_ours_x, g_x, rtol=1e-4, atol=1e-9)
    torch.testing.assert_close(g_ours_y, g_y, rtol=1e-4, atol=1e-9)
    # zero-weight keypoints get no gradient
    assert g_ours_x[~on].abs().max() == 0


def test_divisor_is_n_times_k_not_the_weight_sum():
    """The authors' mean over the batch counts zero-weight keypoints:
    NMTNORM = KL loss with weighted mean * sum(w) / (N K)."""
    ox, oy, tx, ty, w = codec_batch(seed=1)
    ours = build()((ox, oy), (tx, ty), w)
    kl_loss = MODELS.build(dict(type='SimDRKLLoss'))
    per_weight = kl_loss((ox, oy), (tx, ty), w)
    assert ours.item() == pytest.approx(
        per_weight.item() * w.sum().item() / w.numel(), rel=1e-5)
    assert ours.item() < per_weight.item()


def test_loss_weight_and_unweighted():
    ox, oy, tx, ty, w = codec_batch(seed=2)
    base = build()((ox, oy), (tx, ty), w)
    assert build(loss_weight=2.5)((ox, oy), (tx, ty),
                                  w).item() == pytest.approx(
                                      2.5 * base.item(), rel=1e-6)
    ones = torch.ones_like(w)
    assert build(use_target_weight=False)(
        (ox, oy), (tx, ty), w).item() == pytest.approx(
            build()((ox, oy), (tx, ty), ones).item(), rel=1e-6)


@pytest.mark.parametrize('n', [0, 3])
def test_zero_weights_and_empty_batches_give_zero_not_nan(n):
    ox = torch.randn(n, 5, 96, requires_grad=True)
    oy = torch.randn(n, 5, 128, requires_grad=True)
    tx, ty = torch.zeros(n, 5, 96), torch.zeros(n, 5, 128)
    loss = build()((ox, oy), (tx, ty), torch.zeros(n, 5))
    assert loss.item() == 0.0
    loss.backward()
    assert torch.isfinite(ox.grad).all() and (ox.grad == 0).all()


def test_shape_mismatch_is_refused():
    with pytest.raises(AssertionError, match='same shape'):
        build()((torch.zeros(1, 2, 8), torch.zeros(1, 2, 8)),
                (torch.zeros(1, 2, 9), torch.zeros(1, 2, 8)),
                torch.ones(1, 2))
