# Copyright (c) simdr_ext contributors. All rights reserved.
"""What demo/topdown_demo.py draws and writes: box NMS, boxes with their
index, sortable and titled SimDR plots, keypoint ids from the data set
meta, legible ticks, one keypoint threshold, video in and video out."""
import json
import os
import os.path as osp
import subprocess

import cv2
import numpy as np
import pytest

from demo.topdown_demo import (boxes_by_image, default_keypoint_ids,
                               distribution_name, draw_boxes, keypoint_ids,
                               nms_boxes, parse_args, run_demo, simdr_figure)

COCO_NAMES = [
    'nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear',
    'left_shoulder', 'right_shoulder', 'left_elbow', 'right_elbow',
    'left_wrist', 'right_wrist', 'left_hip', 'right_hip', 'left_knee',
    'right_knee', 'left_ankle', 'right_ankle'
]
FIVE = ['nose', 'left_eye', 'right_eye', 'left_shoulder', 'right_shoulder']


def iou_matrix(boxes: np.ndarray) -> np.ndarray:
    """IoU (M, M) of xyxy boxes (M, 4+), with mmpose's nms' +1 areas."""
    x1, y1, x2, y2 = (boxes[:, i] for i in range(4))
    area = (x2 - x1 + 1) * (y2 - y1 + 1)
    w = np.maximum(
        0,
        np.minimum(x2[:, None], x2) - np.maximum(x1[:, None], x1) + 1)
    h = np.maximum(
        0,
        np.minimum(y2[:, None], y2) - np.maximum(y1[:, None], y1) + 1)
    inter = w * h
    return inter / (area[:, None] + area - inter)


def duplicate_pairs(boxes: np.ndarray, thr: float) -> int:
    iou = iou_matrix(boxes)
    return int(np.triu(iou > thr, k=1).sum())


def test_nms_removes_the_duplicate_boxes_of_a_bundled_image(repo_root):
    """The bundled detections of 000000196141 (score >= 0.3, the demo's
    default) hold pairs of boxes on one person (IoU > 0.6); mmpose's NMS at
    the demo's default 0.3 leaves no pair above 0.3."""
    dets = osp.join(repo_root, 'tests', 'data', 'coco',
                    'test_coco_det_AP_H_56.json')
    boxes = boxes_by_image(dets, 0.3)[196141]
    assert duplicate_pairs(boxes, 0.6) >= 5
    kept = nms_boxes(boxes, parse_args(['c', 'k', '--input', 'x']).nms_thr)
    assert 0 < len(kept) < len(boxes)
    assert duplicate_pairs(kept, 0.3) == 0
    # highest score first, and every kept box is one of the input boxes
    assert (np.diff(kept[:, 4]) <= 0).all()
    assert all((boxes == k).all(axis=1).any() for k in kept)
    # 1 keeps every box
    assert len(nms_boxes(boxes, 1.0)) == len(boxes)
    assert nms_boxes(np.zeros((0, 5)), 0.3).shape == (0, 5)


def test_nms_thr_default_and_range():
    args = parse_args(['c', 'k', '--input', 'x'])
    # mmpose's demo/topdown_demo_with_mmdet.py: --nms-thr default 0.3
    assert args.nms_thr == 0.3 and args.kpt_thr == 0.3
    assert args.simdr_keypoints is None and not args.save_frames
    for bad in ('1.5', '-0.1', 'nan'):
        with pytest.raises(SystemExit):
            parse_args(['c', 'k', '--input', 'x', '--nms-thr', bad])


def test_boxes_are_drawn_with_their_index():
    img = np.zeros((120, 160, 3), np.uint8)
    boxes = np.array([[20, 30, 90, 110, 0.9], [100, 20, 150, 100, 0.5]],
                     np.float32)
    out = draw_boxes(img.copy(), boxes)
    assert out.shape == img.shape
    # the box edges and the label patch above each box are drawn
    assert (out[60, 20] != 0).any() and (out[60, 150] != 0).any()
    assert (out[30, 20:90] != 0).any()
    assert (out[105, 120] == 0).all(), 'inside a box stays as it was'


def test_keypoint_ids_default_from_the_meta_and_are_checked():
    assert default_keypoint_ids(COCO_NAMES) == [0, 9, 10]
    # no wrists: up to three spread over K
    assert default_keypoint_ids(['a', 'b', 'c', 'd', 'e']) == [0, 2, 4]
    assert default_keypoint_ids(['a', 'b']) == [0, 1]
    assert keypoint_ids(None, FIVE) == [0]
    assert keypoint_ids(['4', 'left_eye'], FIVE) == [4, 1]
    with pytest.raises(ValueError, match=r'--simdr-keypoints 9: not a '
                       r'keypoint of this model, which has K = 5 '
                       r'keypoints \(0 nose, 1 left_eye'):
        keypoint_ids(['9'], FIVE)
    with pytest.raises(ValueError, match='--simdr-keypoints left_wrist'):
        keypoint_ids(['left_wrist'], FIVE)
    with pytest.raises(ValueError, match='--simdr-keypoints -1'):
        keypoint_ids(['-1'], FIVE)


def test_plot_names_sort_by_box():
    names = [distribution_name('img', i, 12) for i in range(12)]
    assert names[0] == 'img_simdr_00' and names[11] == 'img_simdr_11'
    assert sorted(names) == names
    assert distribution_name('img', 5, 1000) == 'img_simdr_005'
    assert distribution_name('img', 0, 1) == 'img_simdr_00'


def simdr_outputs(k: int = 17, w: int = 96, h: int = 128, ratio: int = 2):
    rng = np.random.default_rng(0)
    x = rng.random((k, w * ratio)) ** 8
    y = rng.random((k, h * ratio)) ** 8
    return x / x.sum(-1, keepdims=True), y / y.sum(-1, keepdims=True)


def overlapping(labels) -> bool:
    boxes = [t.get_window_extent() for t in labels if t.get_text()]
    return any(a.overlaps(b) for i, a in enumerate(boxes)
               for b in boxes[i + 1:])


def test_simdr_plot_is_titled_legible_and_follows_kpt_thr():
    import matplotlib.pyplot as plt
    crop = np.full((128, 96, 3), 100, np.uint8)
    x, y = simdr_outputs()
    scores = np.full(17, 0.9)
    scores[9] = 0.1
    fig = simdr_figure(crop, x, y, [0, 9, 10], COCO_NAMES, scores, 0.3,
                       'img, person #3, box score 0.87')
    try:
        fig.canvas.draw()
        assert fig._suptitle.get_text() == 'img, person #3, box score 0.87'
        ax_img, ax_x, ax_y = fig.axes
        for labels in (ax_y.get_xticklabels(), ax_x.get_yticklabels(),
                       ax_x.get_xticklabels()):
            assert not overlapping(labels)
        # the argmax dots: nose and right wrist; left wrist (0.1 < 0.3) is
        # hidden, as the skeleton picture hides it
        dots = [ln for ln in ax_img.lines if ln.get_marker() == 'o']
        assert len(dots) == 2
        legend = [t.get_text() for t in ax_x.get_legend().get_texts()]
        assert legend == ['nose 0.90', 'left_wrist 0.10 (hidden)',
                          'right_wrist 0.90']
    finally:
        plt.close(fig)


def write_video(path, frames: int = 3, w: int = 96, h: int = 128) -> str:
    writer = cv2.VideoWriter(
        str(path), cv2.VideoWriter_fourcc(*'MJPG'), 8, (w, h))
    assert writer.isOpened()
    for i in range(frames):
        img = np.full((h, w, 3), 60 + 40 * i, np.uint8)
        writer.write(img)
    writer.release()
    return str(path)


def test_a_bbox_file_with_a_video_is_refused(tmp_path, quickstart_config):
    video = write_video(tmp_path / 'clip.avi')
    dets = tmp_path / 'dets.json'
    dets.write_text('[]')
    with pytest.raises(ValueError, match=r'--bbox-file .*dets\.json cannot '
                       r'serve the video .*clip\.avi.*--det-config'):
        run_demo(quickstart_config, None, video, str(tmp_path / 'out'),
                 bbox_file=str(dets))
    assert not (tmp_path / 'out').exists()


@pytest.mark.slow
def test_a_video_gives_a_video(tmp_path, quickstart_config):
    """An AVI of 3 frames at 8 fps gives an MP4 of 3 frames at 8 fps of
    the input's size; PNG frames only with ``save_frames``."""
    video = write_video(tmp_path / 'clip.avi')
    messages = []
    written = run_demo(
        quickstart_config, None, video, str(tmp_path / 'out'),
        log=messages.append)
    assert [osp.basename(f) for f in written] == ['clip.mp4']
    assert os.listdir(tmp_path / 'out') == ['clip.mp4']
    cap = cv2.VideoCapture(str(tmp_path / 'out' / 'clip.mp4'))
    assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(8)
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    assert len(frames) == 3 and frames[0].shape == (128, 96, 3)
    assert any('3 frames read, 0 skipped' in m and '3 written' in m
               for m in messages)
    written = run_demo(
        quickstart_config, None, video, str(tmp_path / 'out2'),
        simdr_keypoints=['nose'], save_frames=True, log=messages.append)
    assert sorted(osp.basename(f) for f in written) == [
        'clip.mp4', 'clip_000000.png', 'clip_000000_simdr_00.png',
        'clip_000001.png', 'clip_000001_simdr_00.png', 'clip_000002.png',
        'clip_000002_simdr_00.png'
    ]


@pytest.mark.slow
def test_demo_cli_from_another_folder(trained_quickstart, quickstart_config,
                                      python, repo_root, tmp_path):
    """From a folder outside the repository: NMS leaves one box per
    person, each drawn with its index; the plots sort by box, with the
    meta's default keypoints; a whole-picture run says so."""
    image = osp.join(repo_root, 'tests', 'data', 'coco', '000000196141.jpg')
    dets = osp.join(repo_root, 'tests', 'data', 'coco',
                    'test_coco_det_AP_H_56.json')
    demo = osp.join(repo_root, 'demo', 'topdown_demo.py')
    cwd = tmp_path / 'elsewhere'
    cwd.mkdir()
    proc = subprocess.run([
        python, demo, quickstart_config, trained_quickstart, '--input',
        image, '--bbox-file', dets, '--out-dir', 'vis'
    ],
                          cwd=cwd,
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    kept = nms_boxes(boxes_by_image(dets, 0.3)[196141], 0.3)
    plots = sorted(p.name for p in (cwd / 'vis').glob('*_simdr_*.png'))
    assert plots == [
        f'000000196141_simdr_{i:02d}.png' for i in range(len(kept))
    ]
    assert 'whole picture' not in proc.stdout
    proc = subprocess.run([
        python, demo, quickstart_config, trained_quickstart, '--input',
        image, '--out-dir', 'whole', '--simdr-keypoints', '99'
    ],
                          cwd=cwd,
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 1
    assert 'ONE person box covering the whole picture' in proc.stdout
    assert 'error: --simdr-keypoints 99: not a keypoint of this model, ' \
        'which has K = 17' in proc.stderr
    assert 'Traceback' not in proc.stderr
    with open(dets) as f:
        assert json.load(f)  # the bundled file is untouched
