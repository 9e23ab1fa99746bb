# Copyright (c) simdr_ext contributors. All rights reserved.
"""The person detector (end-to-end YOLOX / RTMDet ONNX layout) and the
runtime with a detector: letterbox, outputs mapped back to image pixels,
score and class filters, NMS, precedence of the caller's boxes, and a
detector + exported pose model run without torch from another folder."""
import json
import os.path as osp
import subprocess
import sys
import textwrap

import cv2
import numpy as np
import pytest

pytest.importorskip(
    'onnx', reason='onnx is an optional extra (requirements/onnx.txt)')
pytest.importorskip(
    'onnxruntime', reason='onnxruntime is an optional extra '
    '(requirements/onnx.txt; tools/setup_env.sh installs it)')

from detector_graph import write_detector  # noqa: E402
from test_model_checks import K, write_model  # noqa: E402

from simdr_runtime import (RTMDET_MEAN, RTMDET_STD,  # noqa: E402
                           OnnxPersonDetector, OnnxPoseRuntime)
from simdr_runtime.detector import letterbox, nms  # noqa: E402

# letterbox pixels (input 320 x 320); an image of 200 x 400 (h x w) is
# resized by 0.8 to 320 x 160 at the top left, rows 160-319 are padding
BOXES = [
    [40, 20, 120, 100],  # person, kept: image [50, 25, 150, 125]
    [200, 40, 280, 120],  # class 1: dropped
    [160, 80, 200, 150],  # score 0.2 <= 0.3: dropped
    [44, 24, 124, 104],  # IoU 0.82 with box 0: suppressed by NMS
    [240, 100, 400, 200],  # image [300, 125, 500, 250], clipped
    [0, 170, 50, 300],  # in the padding: no area once clipped
]
SCORES = [0.9, 0.95, 0.2, 0.8, 0.6, 0.7]
LABELS = [0, 1, 0, 0, 0, 0]


@pytest.fixture
def det_file(tmp_path):
    return write_detector(tmp_path / 'det.onnx', BOXES, SCORES, LABELS)


def test_boxes_map_back_to_image_pixels(det_file):
    detector = OnnxPersonDetector(det_file)
    assert detector.input_size == (320, 320)
    assert detector.input_name == 'input'
    out = detector(np.full((200, 400, 3), 40, np.uint8))
    assert out.dtype == np.float32 and out.shape == (2, 5)
    np.testing.assert_allclose(
        out, [[50, 25, 150, 125, 0.9], [300, 125, 400, 200, 0.6]],
        rtol=1e-6)


def test_thresholds_and_nms_are_settings(det_file):
    img = np.full((200, 400, 3), 40, np.uint8)
    out = OnnxPersonDetector(det_file, nms_thr=None)(img)
    np.testing.assert_allclose(out[:, 4], [0.9, 0.8, 0.6], rtol=1e-6)
    np.testing.assert_allclose(out[1, :4], [55, 30, 155, 130], rtol=1e-6)
    out = OnnxPersonDetector(det_file, score_thr=0.1, nms_thr=0.9)(img)
    np.testing.assert_allclose(out[:, 4], [0.9, 0.8, 0.6, 0.2], rtol=1e-6)
    out = OnnxPersonDetector(det_file, person_class=1)(img)
    np.testing.assert_allclose(out, [[250, 50, 350, 150, 0.95]], rtol=1e-6)


def test_the_graph_sees_the_letterbox(det_file):
    """The graph's scores scale with its input's bottom-right pixel: the
    padding (114) leaves them, a square black image zeroes them."""
    detector = OnnxPersonDetector(det_file)
    assert len(detector(np.zeros((200, 400, 3), np.uint8))) == 2
    assert detector(np.zeros((320, 320, 3), np.uint8)).shape == (0, 5)


def test_preprocess_is_rtmlibs_letterbox(det_file):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (200, 400, 3), dtype=np.uint8)
    x, ratio = OnnxPersonDetector(det_file).preprocess(img)
    assert ratio == 0.8
    assert x.dtype == np.float32 and x.shape == (1, 3, 320, 320)
    canvas = x[0].transpose(1, 2, 0)
    resized = cv2.resize(img, (320, 160), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_array_equal(canvas[:160], resized)
    assert (canvas[160:] == 114).all()
    x, _ = OnnxPersonDetector(
        det_file, mean=RTMDET_MEAN, std=RTMDET_STD, to_rgb=True,
        pad_value=0).preprocess(img)
    canvas = x[0].transpose(1, 2, 0)
    want = (resized[..., ::-1].astype(np.float32) -
            np.float32(RTMDET_MEAN)) / np.float32(RTMDET_STD)
    np.testing.assert_allclose(canvas[:160], want, rtol=1e-6)
    np.testing.assert_allclose(canvas[160:],
                               np.broadcast_to(-np.float32(RTMDET_MEAN) /
                                               RTMDET_STD, (160, 320, 3)),
                               rtol=1e-6)


def test_letterbox_of_a_tall_image_and_nms():
    canvas, ratio = letterbox(np.zeros((400, 100, 3), np.uint8), (320, 320))
    assert ratio == 0.8 and canvas.shape == (320, 320, 3)
    assert (canvas[:, :80] == 0).all() and (canvas[:, 80:] == 114).all()
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [20, 20, 30, 30]],
                     np.float32)
    # IoU(0, 1) = 90 / 110
    assert nms(boxes, np.array([0.5, 0.9, 0.1]), 0.8).tolist() == [1, 2]
    assert nms(boxes, np.array([0.5, 0.9, 0.1]), 0.9).tolist() == [1, 0, 2]


def test_dynamic_sides_need_input_size(tmp_path):
    path = write_detector(tmp_path / 'dyn.onnx', BOXES, SCORES, LABELS,
                          input_dims=[1, 3, 'h', 'w'])
    with pytest.raises(ValueError, match=r'dyn\.onnx: input input has '
                       r'dynamic sides .*pass input_size=\(W, H\)'):
        OnnxPersonDetector(path)
    detector = OnnxPersonDetector(path, input_size=(320, 320))
    assert len(detector(np.full((200, 400, 3), 40, np.uint8))) == 2


def test_other_layouts_are_refused_naming_the_file(tmp_path, det_file):
    path = write_detector(tmp_path / 'raw.onnx', BOXES, SCORES,
                          outputs=('output', 'other'))
    with pytest.raises(ValueError) as err:
        OnnxPersonDetector(path)
    assert path in str(err.value)
    assert "outputs ['output', 'other'], no dets" in str(err.value)
    path = write_detector(tmp_path / 'rgba.onnx', BOXES, SCORES,
                          input_dims=[1, 4, 320, 320])
    with pytest.raises(ValueError, match=r'rgba\.onnx .*input input has '
                       r'shape \[1, 4, 320, 320\]'):
        OnnxPersonDetector(path)
    with pytest.raises(ValueError, match=r'input_size \(640, 640\) .* does '
                       'not match'):
        OnnxPersonDetector(det_file, input_size=(640, 640))
    with pytest.raises(FileNotFoundError, match='missing.onnx'):
        OnnxPersonDetector(str(tmp_path / 'missing.onnx'))
    with pytest.raises(ValueError, match='score_thr must be a number'):
        OnnxPersonDetector(det_file, score_thr=2)
    with pytest.raises(ValueError, match='give mean and std together'):
        OnnxPersonDetector(det_file, mean=RTMDET_MEAN)


# the runtime with a detector, on the constant pose graph of
# test_model_checks (keypoints are a fixed function of the box)


def test_runtime_uses_the_detector_and_caller_boxes_win(tmp_path,
                                                        det_file):
    pose = write_model(tmp_path / 'pose.onnx')
    detector = OnnxPersonDetector(det_file)
    runtime = OnnxPoseRuntime(pose, detector=detector)
    img = np.full((200, 400, 3), 40, np.uint8)
    got = runtime(img)
    assert len(got) == 1
    np.testing.assert_allclose(got[0]['bboxes'], detector(img)[:, :4])
    np.testing.assert_allclose(got[0]['bbox_scores'], [0.9, 0.6],
                               rtol=1e-6)
    ref = OnnxPoseRuntime(pose)(img, detector(img))[0]
    np.testing.assert_array_equal(got[0]['keypoints'], ref['keypoints'])
    np.testing.assert_allclose(ref['bbox_scores'], [0.9, 0.6], rtol=1e-6)
    assert got[0]['keypoints'].shape == (2, K, 2)

    def refuse(image):
        raise AssertionError('the detector ran although boxes were given')

    runtime = OnnxPoseRuntime(pose, detector=refuse)
    own = runtime(img, np.array([[10, 10, 100, 190]]))[0]
    assert own['bboxes'].tolist() == [[10, 10, 100, 190]]
    assert own['bbox_scores'].tolist() == [1.0]
    assert runtime([img, img], [None, None])[1]['keypoints'].shape == (0, K,
                                                                       2)


def test_detector_batches_keep_the_image_order(tmp_path):
    pose = write_model(tmp_path / 'pose.onnx')
    counts = [3, 0, 1, 2, 5]
    calls = []

    def detector(image):
        n = counts[len(calls)]
        calls.append(image.shape)
        x = np.arange(n, dtype=np.float32)[:, None] * 10
        return np.hstack([x, x, x + 50, x + 60, 0.5 + x / 100])

    images = [np.full((120 + 10 * i, 200, 3), 9 * i, np.uint8)
              for i in range(5)]
    runtime = OnnxPoseRuntime(pose, batch_size=2, detector=detector)
    got = runtime(images)
    assert calls == [im.shape for im in images]
    assert [len(r['bboxes']) for r in got] == counts
    calls.clear()
    ref = OnnxPoseRuntime(pose)(images, [detector(im) for im in images])
    for g, r in zip(got, ref):
        np.testing.assert_array_equal(g['keypoints'], r['keypoints'])
        np.testing.assert_array_equal(g['bbox_scores'], r['bbox_scores'])
    assert got[4]['bbox_scores'].tolist() == pytest.approx(
        [0.5, 0.6, 0.7, 0.8, 0.9])


def test_runtime_errors_name_the_fix(tmp_path):
    pose = write_model(tmp_path / 'pose.onnx')
    img = np.zeros((100, 100, 3), np.uint8)
    with pytest.raises(ValueError, match='no boxes and no detector: pass '
                       r'boxes .*detector=OnnxPersonDetector'):
        OnnxPoseRuntime(pose)(img)
    runtime = OnnxPoseRuntime(pose, detector=lambda im: [[5, 5, 1, 1]])
    with pytest.raises(ValueError, match="detector's boxes of image 0: box "
                       '0 .* has no area'):
        runtime(img)
    with pytest.raises(ValueError, match='detector must be callable'):
        OnnxPoseRuntime(pose, detector='det.onnx')


def test_skeleton_links_come_from_the_metadata(tmp_path):
    path = write_model(tmp_path / 'plain.onnx')
    assert OnnxPoseRuntime(path).skeleton is None
    path = write_model(tmp_path / 'links.onnx',
                       metadata=dict(skeleton_links=[[0, 1], [1, 16]]))
    assert OnnxPoseRuntime(path).skeleton == ((0, 1), (1, 16))
    path = write_model(tmp_path / 'bad.onnx',
                       metadata=dict(skeleton_links=[[0, 17]]))
    with pytest.raises(ValueError, match=r'bad\.onnx: metadata '
                       r'simdr\.skeleton_links must be .*link 0 \[0, 17\]'):
        OnnxPoseRuntime(path)


# in a fresh interpreter, from another folder: the README's calls; then
# the modules loaded
CHILD = textwrap.dedent('''
    import json, sys
    import cv2
    import numpy as np
    from simdr_runtime import OnnxPersonDetector, OnnxPoseRuntime, draw
    args = json.loads(sys.argv[1])
    runtime = OnnxPoseRuntime(args['pose'],
                              detector=OnnxPersonDetector(args['det']))
    poses = runtime(args['image'])
    given = OnnxPoseRuntime(args['pose'])(args['image'],
                                          poses[0]['bboxes'])
    cv2.imwrite('drawn.png', draw(args['image'], poses,
                                  skeleton=runtime.skeleton))
    np.savez('out.npz', bboxes=poses[0]['bboxes'],
             scores=poses[0]['bbox_scores'],
             keypoints=poses[0]['keypoints'],
             given=given[0]['keypoints'])
    heavy = sorted(m for m in sys.modules
                   if m.split('.')[0] in ('torch', 'torchvision')
                   or m.startswith('mm'))
    print(json.dumps(heavy))
''')


@pytest.mark.slow
def test_detector_and_exported_model_end_to_end(pose_model_factory,
                                                bundled_detections,
                                                tmp_path):
    """A detector graph that finds three of the bundled people (their
    boxes in letterbox pixels) and the exported quickstart model, run in
    a fresh interpreter from another folder: the detected boxes are the
    people's, the keypoints those of the same boxes given by hand, and
    neither torch nor an mm* package is loaded."""
    from simdr_ext.deploy import export_onnx
    pose = str(tmp_path / 'pose.onnx')
    export_onnx(pose_model_factory('simdr'), pose, flip_test=None)
    image, boxes = next(iter(bundled_detections.items()))
    h, w = cv2.imread(image).shape[:2]
    ratio = min(640 / h, 640 / w)
    people = []
    for box in boxes:
        if len(people) < 3 and (not people or nms(
                np.array(people + [box]), np.arange(len(people) + 1.0),
                0.3).size == len(people) + 1):
            people.append(box)
    people = np.array(people, np.float32)
    det = write_detector(tmp_path / 'det.onnx', people * ratio,
                         [0.9, 0.8, 0.7], input_size=(640, 640))
    work = tmp_path / 'elsewhere'
    work.mkdir()
    args = dict(pose=pose, det=det, image=image)
    proc = subprocess.run([sys.executable, '-c', CHILD, json.dumps(args)],
                          cwd=work, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []
    out = np.load(work / 'out.npz')
    np.testing.assert_allclose(out['bboxes'], people, atol=1e-3)
    np.testing.assert_allclose(out['scores'], [0.9, 0.8, 0.7], rtol=1e-6)
    assert out['keypoints'].shape == (3, 17, 2)
    np.testing.assert_array_equal(out['keypoints'], out['given'])
    drawn = cv2.imread(str(work / 'drawn.png'))
    original = cv2.imread(image)
    assert drawn.shape == original.shape
    x1, y1 = people[0, :2].astype(int)
    edge = np.s_[y1 - 1:y1 + 2, x1 + 5]
    assert (drawn[edge] != original[edge]).any()
    print(f'{osp.basename(image)}: {len(people)} people detected')
