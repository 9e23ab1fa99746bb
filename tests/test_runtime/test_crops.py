# Copyright (c) simdr_ext contributors. All rights reserved.
"""simdr_runtime's vectorised crop geometry is mmpose's, to the byte."""
import numpy as np
import pytest

from simdr_runtime.crops import (box_center_scale, crop_boxes, read_image,
                                 to_image, warp_matrices)


@pytest.mark.parametrize('use_udp', [False, True])
def test_matrices_and_crops_are_mmposes(use_udp, bundled_detections):
    from mmcv.transforms import Compose

    from mmpose.datasets.transforms import GetBBoxCenterScale, TopdownAffine
    from mmpose.structures.bbox import get_udp_warp_matrix, get_warp_matrix
    size = (96, 128)
    pipeline = Compose([
        GetBBoxCenterScale(),
        TopdownAffine(input_size=size, use_udp=use_udp)
    ])
    for path, boxes in bundled_detections.items():
        img = read_image(path)
        center, scale = box_center_scale(boxes, size)
        mats = warp_matrices(center, scale, size, use_udp)
        crops = crop_boxes(img, mats, size)
        for i, box in enumerate(boxes):
            out = pipeline(dict(img=img.copy(), bbox=box[None],
                                bbox_score=np.ones(1, np.float32)))
            np.testing.assert_array_equal(center[i], out['input_center'])
            np.testing.assert_array_equal(scale[i], out['input_scale'])
            make = get_udp_warp_matrix if use_udp else get_warp_matrix
            ref = make(out['input_center'], out['input_scale'], 0,
                       output_size=size)
            np.testing.assert_array_equal(mats[i], ref)
            np.testing.assert_array_equal(crops[i], out['img'])


def test_back_projection_inverts_the_warp(bundled_detections):
    """A crop pixel mapped to the image by :func:`to_image` lands where the
    (non-UDP) warp sends it back: ``to_image`` is the warp's inverse."""
    size = (96, 128)
    boxes = next(iter(bundled_detections.values()))
    center, scale = box_center_scale(boxes, size)
    mats = warp_matrices(center, scale, size).astype(np.float64)
    crop_pts = np.random.default_rng(0).uniform(0, 96, (len(boxes), 5, 2))
    img_pts = to_image(crop_pts, center, scale, size)
    back = np.einsum('mij,mkj->mki', mats[:, :, :2], img_pts) + \
        mats[:, None, :, 2]
    # float32 centres/scales of up to ~600 px: ~1e-4 px of rounding
    np.testing.assert_allclose(back, crop_pts, atol=1e-3)
