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
