# Copyright (c) simdr_ext contributors. All rights reserved.
"""``simdr_runtime.draw``: a copy of the image with boxes, their index,
links and keypoints above the threshold; no torch."""
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest

from simdr_runtime import COCO_SKELETON, draw

POINT = (0, 0, 255)
LINK = (255, 128, 0)
BOX = (0, 255, 0)


def pose(k: int, score: float = 0.9) -> dict:
    """One person on a 300 x 400 image: keypoint j at (40 + 20 j, 150)
    except keypoints 5 and 6 (the shoulders) at (100, 60) and (200, 60),
    box [20, 30, 380, 270]."""
    kpts = np.stack([40 + 20 * np.arange(k), np.full(k, 150)], -1)
    if k > 6:
        kpts[5], kpts[6] = (100, 60), (200, 60)
    return dict(bboxes=np.array([[20, 30, 380, 270]], np.float32),
                bbox_scores=np.array([0.87], np.float32),
                keypoints=kpts[None].astype(np.float32),
                keypoint_scores=np.full((1, k), score, np.float32))


def near(pixel, color) -> bool:
    """Within anti-aliasing of ``color``."""
    return bool(np.abs(pixel.astype(int) - color).max() <= 40)


def blank():
    return np.full((300, 400, 3), 255, np.uint8)


def test_draws_on_a_copy_where_the_pose_is():
    image = blank()
    out = draw(image, [pose(17)])
    assert (image == 255).all(), 'the input image was modified'
    assert out.shape == image.shape and out.dtype == np.uint8
    assert near(out[150, 40], POINT)  # keypoint 0
    assert near(out[60, 150], LINK)  # middle of the shoulder link
    assert near(out[30, 300], BOX)  # top edge of the box
    assert near(out[200, 20], BOX)  # left edge
    # the index and score label at the top-left corner: box-coloured
    # background with dark text
    label = out[15:30, 20:60].reshape(-1, 3)
    assert (label == BOX).all(1).sum() > 50
    assert (label.sum(1) < 200).sum() > 10
    assert (out[280:, :] == 255).all(), 'drawn outside the pose and box'


def test_threshold_skeleton_and_boxes_are_options():
    low = pose(17, score=0.2)
    out = draw(blank(), low, kpt_thr=0.3, draw_boxes=False)
    assert (out == 255).all()
    out = draw(blank(), low, kpt_thr=0.1, draw_boxes=False)
    assert near(out[150, 40], POINT)
    # K = 5: no links unless given
    out = draw(blank(), pose(5), draw_boxes=False)
    assert near(out[150, 40], POINT) and tuple(out[150, 50]) == (255, ) * 3
    out = draw(blank(), pose(5), skeleton=[(0, 1)], draw_boxes=False)
    assert near(out[150, 50], LINK)


def test_coco_links_are_mmposes():
    import mmpose
    from mmpose.datasets.datasets.utils import parse_pose_metainfo
    meta = parse_pose_metainfo(
        dict(from_file=osp.join(osp.dirname(mmpose.__file__), '.mim',
                                'configs/_base_/datasets/coco.py')))
    assert COCO_SKELETON == tuple(meta['skeleton_links'])


def test_bad_poses_and_links_are_named():
    with pytest.raises(ValueError, match=r'link 0 \(0, 5\) must be two '
                       'keypoint indices from 0 to 4'):
        draw(blank(), pose(5), skeleton=[(0, 5)])
    with pytest.raises(ValueError, match='result for one image.*list of '
                       'length 2'):
        draw(blank(), [pose(5), pose(5)])
    with pytest.raises(ValueError, match='2 bboxes for 1 poses'):
        draw(blank(), dict(pose(5), bboxes=np.ones((2, 4)) * [0, 0, 1, 1]))
    with pytest.raises(FileNotFoundError, match='nothing.jpg'):
        draw('nothing.jpg', pose(5))


def test_grey_image_and_empty_result():
    out = draw(np.zeros((50, 60), np.uint8),
               dict(bboxes=np.zeros((0, 4)), keypoints=np.zeros((0, 3, 2)),
                    keypoint_scores=np.zeros((0, 3))))
    assert out.shape == (50, 60, 3) and not out.any()


@pytest.mark.slow
def test_draw_loads_no_torch(tmp_path):
    code = ('import sys, numpy as np; from simdr_runtime import draw; '
            'img = np.zeros((40, 40, 3), np.uint8); '
            'out = draw(img, dict(bboxes=[[2, 2, 30, 30]], '
            'keypoints=np.full((1, 17, 2), 10.), '
            'keypoint_scores=np.ones((1, 17)))); '
            'assert out.any() and not img.any(); '
            'print([m for m in sys.modules if m.split(".")[0] == "torch" '
            'or m.startswith("mm")])')
    proc = subprocess.run([sys.executable, '-c', code], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == '[]'
