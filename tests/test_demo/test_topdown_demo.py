# Copyright (c) simdr_ext contributors. All rights reserved.
"""demo/topdown_demo.py, and simdr_ext configs through mmpose's own
inference APIs (which the demo runs)."""
import json
import os.path as osp
import subprocess

import numpy as np
import pytest

from demo.topdown_demo import boxes_by_image
from simdr_ext.datasets import DataFileError

IMAGE = osp.join('tests', 'data', 'coco', '000000196141.jpg')


def run_demo_cli(python, repo_root, *args) -> subprocess.CompletedProcess:
    """``python demo/topdown_demo.py ARGS`` from the repository root."""
    return subprocess.run([python, 'demo/topdown_demo.py', *args],
                          cwd=repo_root,
                          capture_output=True,
                          text=True,
                          timeout=300)


def test_init_model_and_inference_topdown(trained_quickstart,
                                          quickstart_config, repo_root):
    from mmpose.apis import inference_topdown, init_model
    model = init_model(quickstart_config, trained_quickstart, device='cpu')
    boxes = np.array([[248, 74, 418, 375], [36, 68, 66, 164]], np.float32)
    samples = inference_topdown(model, osp.join(repo_root, IMAGE), boxes)
    assert len(samples) == 2
    kpts = samples[0].pred_instances.keypoints
    scores = samples[0].pred_instances.keypoint_scores
    assert kpts.shape == (1, 17, 2) and scores.shape == (1, 17)
    # keypoints land inside (or near) their box, scores are probabilities
    x = kpts[0, :, 0]
    assert (x > 248 - 50).all() and (x < 418 + 50).all()
    assert ((scores > 0) & (scores <= 1)).all()


def test_mmpose_inferencer_with_a_simdr_ext_config(trained_quickstart,
                                                   quickstart_config,
                                                   repo_root, tmp_path):
    from mmpose.apis import MMPoseInferencer
    inferencer = MMPoseInferencer(
        pose2d=quickstart_config,
        pose2d_weights=trained_quickstart,
        det_model='whole_image',
        device='cpu')
    result = next(
        inferencer(osp.join(repo_root, IMAGE), vis_out_dir=str(tmp_path)))
    preds = result['predictions'][0]
    assert len(preds) == 1
    assert np.array(preds[0]['keypoints']).shape == (17, 2)
    assert osp.isfile(tmp_path / '000000196141.jpg')


def test_demo_writes_pictures_with_a_detection_file(trained_quickstart,
                                                    quickstart_config, python,
                                                    repo_root, tmp_path):
    dets = osp.join('tests', 'data', 'coco', 'test_coco_det_AP_H_56.json')
    proc = run_demo_cli(python, repo_root, quickstart_config,
                        trained_quickstart,
                        '--input', IMAGE, '--bbox-file', dets, '--out-dir',
                        str(tmp_path), '--simdr-keypoints', '0', '9', '10')
    assert proc.returncode == 0, proc.stderr[-3000:]
    skeleton = tmp_path / '000000196141.png'
    assert skeleton.is_file()
    import cv2
    img = cv2.imread(str(skeleton))
    assert img is not None and img.shape[:2] == (429, 640)
    dists = sorted(tmp_path.glob('000000196141_simdr_*.png'))
    assert dists, 'a SimDR model gets its 1D distributions drawn'
    assert cv2.imread(str(dists[0])) is not None


def bomb_jpeg() -> bytes:
    """A real 8x8 JPEG whose frame header claims 30000x30000 pixels."""
    import cv2
    data = bytearray(cv2.imencode('.jpg', np.zeros((8, 8, 3), np.uint8))[1])
    sof = data.index(b'\xff\xc0')
    data[sof + 5:sof + 9] = (30000).to_bytes(2, 'big') * 2
    return bytes(data)


@pytest.mark.parametrize('content,message', [
    (None, 'no such file'),
    (b'', 'the file is empty'),
    (b'\xff\xd8\xff\xe0 truncated', 'its JPEG header ends or is corrupt'),
    (b'\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x08\0\0\0\x08\x08\x02'
     b'\0\0\0garbage', 'not an image OpenCV can decode'),
    (bomb_jpeg, 'its JPEG header claims 30000x30000'),
])
def test_demo_reports_a_bad_input_by_name(content, message, trained_quickstart,
                                          quickstart_config, python, repo_root,
                                          tmp_path):
    bad = tmp_path / 'bad.jpg'
    if callable(content):
        content = content()
    if content is not None:
        bad.write_bytes(content)
    proc = run_demo_cli(python, repo_root, quickstart_config,
                        trained_quickstart, '--input', str(bad), '--out-dir',
                        str(tmp_path / 'out'))
    assert proc.returncode != 0
    assert f'cannot read image {bad}: {message}' in proc.stderr
    assert 'Traceback' not in proc.stderr


def test_demo_draws_nothing_where_nobody_was_detected(trained_quickstart,
                                                      quickstart_config,
                                                      python, repo_root,
                                                      tmp_path):
    """A detection file without this image: the picture is saved as it is
    (no pose over the whole picture) and the demo says so."""
    dets = tmp_path / 'dets.json'
    # a detection of another image only (COCO results layout)
    dets.write_text('[{"image_id": 785, "category_id": 1, '
                    '"bbox": [280, 45, 220, 330], "score": 0.99}]')
    proc = run_demo_cli(python, repo_root, quickstart_config,
                        trained_quickstart, '--input', IMAGE, '--bbox-file',
                        str(dets), '--out-dir', str(tmp_path / 'out'))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert '000000196141: no person detected' in proc.stdout
    import cv2
    written = cv2.imread(str(tmp_path / 'out' / '000000196141.png'))
    original = cv2.imread(osp.join(repo_root, IMAGE))
    np.testing.assert_array_equal(written, original)
    assert not list((tmp_path / 'out').glob('*_simdr_*.png'))


@pytest.mark.parametrize('name', ['dets.pkl', 'dets.json'])
def test_demo_never_unpickles_a_detection_file(name, trained_quickstart,
                                               quickstart_config, python,
                                               repo_root, tmp_path,
                                               pickle_payload):
    """A pickle given as --bbox-file (by its name or under a .json name)
    is refused by the one detection reader before anything runs."""
    dets = tmp_path / name
    marker = pickle_payload(dets)
    proc = run_demo_cli(python, repo_root, quickstart_config,
                        trained_quickstart, '--input', IMAGE, '--bbox-file',
                        str(dets), '--out-dir', str(tmp_path / 'out'))
    assert not marker.exists(), 'the pickle payload ran'
    assert proc.returncode != 0
    assert str(dets) in proc.stderr


def test_demo_boxes_refuse_a_pickle(tmp_path, pickle_payload):
    path = tmp_path / 'x.pkl'
    marker = pickle_payload(path)
    with pytest.raises(DataFileError, match='only JSON files'):
        boxes_by_image(str(path))
    assert not marker.exists()


def test_demo_boxes_follow_the_reader_rules(tmp_path, repo_root):
    """NaN and negative scores never pass the threshold (NaN < thr is
    False, so a plain comparison keeps them); the bundled file is read
    whole."""
    src = osp.join(repo_root, 'tests', 'data', 'coco',
                   'test_coco_det_AP_H_56.json')
    dets = json.loads(open(src).read())
    boxes = boxes_by_image(src, 0.3)
    kept = [d for d in dets if d['score'] >= 0.3]
    assert sum(len(v) for v in boxes.values()) == len(kept)
    first = dets[0]
    x, y, w, h = first['bbox']
    np.testing.assert_allclose(
        boxes[first['image_id']][0], [x, y, x + w, y + h, first['score']],
        rtol=1e-6)
    path = tmp_path / 'dets.json'
    path.write_text(
        json.dumps([
            dict(first, score=float('nan')),
            dict(first, score=-1.0),
            dict(first, image_id=7, score=0.5)
        ]))
    with pytest.warns(UserWarning, match='2 with bad score'):
        boxes = boxes_by_image(str(path), 0.3)
    assert list(boxes) == [7]
    path.write_text(json.dumps([dict(first, bbox={'x': 1})]))
    with pytest.raises(ValueError, match='entry 0: "bbox" must be a list'):
        boxes_by_image(str(path))


def test_demo_refuses_to_write_into_its_input_folder(trained_quickstart,
                                                     quickstart_config,
                                                     python, repo_root,
                                                     tmp_path):
    """``--out-dir`` equal to the input's folder: a one-line error before
    anything is written."""
    import shutil
    shutil.copy(osp.join(repo_root, IMAGE), tmp_path / 'a.jpg')
    before = sorted(p.name for p in tmp_path.iterdir())
    proc = run_demo_cli(python, repo_root, quickstart_config,
                        trained_quickstart, '--input',
                        str(tmp_path / 'a.jpg'), '--out-dir', str(tmp_path))
    assert proc.returncode == 1
    assert f'--out-dir {tmp_path} is the folder of the input' in proc.stderr
    assert 'Traceback' not in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before
