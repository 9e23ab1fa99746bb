# Copyright (c) simdr_ext contributors. All rights reserved.
"""From pictures to poses in one call (``simdr_ext.apis.estimate_poses``),
run from a folder outside the repository: an image, a folder and a short
video, with boxes given, with a detector callable, with the whole picture
asked for; mmpose's default person detector and its error without a
network; ``MMPoseInferencer`` choosing that detector for simdr_ext
configs."""
import os.path as osp
import pickle
import shutil
import urllib.error

import cv2
import numpy as np
import pytest
import torch

from simdr_ext.apis import (PersonDetector, PoseInferencer,
                            batch_inference_topdown, dataset_object_type,
                            default_detector, estimate_poses)

COCO = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'data',
                'coco')
IMAGE = osp.join(COCO, '000000196141.jpg')
MMPOSE_COCO = ('body_2d_keypoint/simcc/coco/'
               'simcc_res50_8xb64-210e_coco-256x192.py')
DEFAULT_DET = 'rtmdet_m_640-8xb32_coco-person.py'


@pytest.fixture(scope='module')
def model(quickstart_config):
    """The quickstart SimDR model, seed-0 weights, CPU."""
    from mmpose.apis import init_model
    torch.manual_seed(0)
    return init_model(quickstart_config, None, device='cpu')


@pytest.fixture
def outside(tmp_path, monkeypatch):
    """Run the test from an empty folder outside the repository."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def no_network(tmp_path, monkeypatch):
    """An empty torch hub cache and no network: every download fails as
    it does offline."""
    hub = tmp_path / 'hub'
    monkeypatch.setattr(torch.hub, 'get_dir', lambda: str(hub))

    def offline(*args, **kwargs):
        raise urllib.error.URLError('[Errno -3] Temporary failure in name '
                                    'resolution')

    monkeypatch.setattr(torch.hub, 'urlopen', offline)
    return hub


def people_at(boxes):
    """A detector callable that finds ``boxes`` (M, 4|5) in any picture."""

    def detect(image):
        assert image.ndim == 3 and image.shape[2] == 3
        return np.asarray(boxes, np.float32)

    return detect


def test_one_image_with_given_boxes(outside, model, quickstart_config):
    boxes = np.array([[120, 60, 330, 420], [20, 40, 140, 300]], np.float32)
    # the public one-call path: a config file and an image file
    torch.manual_seed(0)
    with pytest.warns(UserWarning, match='random weights'):
        res = estimate_poses(quickstart_config, None, IMAGE, boxes=boxes,
                             device='cpu')
    assert len(res) == 1
    res = res[0]
    assert res['img_path'] == IMAGE and res['frame_index'] is None
    assert res['keypoints'].shape == (2, 17, 2)
    assert res['keypoint_scores'].shape == (2, 17)
    np.testing.assert_array_equal(res['bboxes'], boxes)
    np.testing.assert_array_equal(res['bbox_scores'], [1, 1])
    # same weights (seed 0) as the batched API's: the same keypoints
    ref = batch_inference_topdown(model, IMAGE, boxes)[0]
    np.testing.assert_array_equal(res['keypoints'], ref['keypoints'])
    # keypoints lie around their boxes, in image pixels
    img_h, img_w = cv2.imread(IMAGE).shape[:2]
    assert (res['keypoints'] >= -img_w).all()
    assert (res['keypoints'][..., 0] <= 2 * img_w).all()
    # an array image and (M, 5) boxes with scores
    arr = cv2.imread(IMAGE)
    scored = np.concatenate([boxes, [[0.9], [0.4]]], 1)
    res2 = estimate_poses(model, None, arr, boxes=scored)[0]
    assert res2['img_path'] == 'array 0'
    np.testing.assert_allclose(res2['bbox_scores'], [0.9, 0.4])
    np.testing.assert_array_equal(res2['keypoints'], res['keypoints'])


def test_folder_with_a_detector_callable(outside, model):
    folder = outside / 'pictures'
    folder.mkdir()
    for name in ('b.jpg', 'a.jpg'):
        shutil.copyfile(IMAGE, folder / name)
    (folder / 'notes.txt').write_text('not a picture')
    # two near-duplicates (IoU 0.9) and one box below the score threshold
    detect = people_at([[120, 60, 330, 420, 0.9], [125, 65, 335, 420, 0.8],
                        [20, 40, 140, 300, 0.7], [10, 10, 50, 50, 0.1]])
    res = estimate_poses(model, None, str(folder), det_model=detect)
    assert [osp.basename(r['img_path']) for r in res] == ['a.jpg', 'b.jpg']
    for r in res:
        # NMS (0.3) drops the duplicate, bbox_thr (0.3) the weak box
        np.testing.assert_allclose(r['bbox_scores'], [0.9, 0.7])
        np.testing.assert_array_equal(
            r['bboxes'], [[120, 60, 330, 420], [20, 40, 140, 300]])
        assert r['keypoints'].shape == (2, 17, 2)
    np.testing.assert_array_equal(res[0]['keypoints'], res[1]['keypoints'])
    # the callable's boxes give the keypoints of the same boxes given
    given = estimate_poses(model, None, str(folder),
                           boxes=[r['bboxes'] for r in res])
    np.testing.assert_array_equal(given[1]['keypoints'],
                                  res[1]['keypoints'])


def write_video(path, frames=3):
    img = cv2.resize(cv2.imread(IMAGE), (320, 240))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'mp4v'), 5,
                             (320, 240))
    assert writer.isOpened()
    for i in range(frames):
        writer.write(np.roll(img, 8 * i, axis=1))
    writer.release()


def test_video_with_given_boxes_and_a_detector(outside, model):
    video = outside / 'clip.mp4'
    write_video(video)
    per_frame = [np.array([[60, 30, 180, 220]]), None,
                 np.array([[60, 30, 180, 220], [200, 20, 300, 230]])]
    res = estimate_poses(model, None, str(video), boxes=per_frame)
    assert [r['frame_index'] for r in res] == [0, 1, 2]
    assert all(r['img_path'] == str(video) for r in res)
    assert [len(r['keypoints']) for r in res] == [1, 0, 2]
    assert res[1]['keypoints'].shape == (0, 17, 2)
    assert res[2]['keypoint_scores'].shape == (2, 17)

    frames = []

    def detect(image):
        frames.append(image.shape)
        return np.array([[60, 30, 180, 220, 0.8]])

    res = PoseInferencer(model, det_model=detect)(str(video))
    assert frames == [(240, 320, 3)] * 3
    np.testing.assert_allclose([r['bbox_scores'] for r in res],
                               [[0.8]] * 3)
    with pytest.raises(ValueError,
                       match='2 box arrays, but .* more than 2 frames'):
        estimate_poses(model, None, str(video), boxes=per_frame[:2])
    with pytest.raises(ValueError, match='4 box arrays for the 3 frames'):
        estimate_poses(model, None, str(video), boxes=per_frame + [None])


def test_whole_picture_only_when_asked_and_said(outside, model):
    with pytest.warns(UserWarning, match="det_model='whole_image'"):
        infer = PoseInferencer(model, det_model='whole_image')
    res = infer(IMAGE)[0]
    h, w = cv2.imread(IMAGE).shape[:2]
    np.testing.assert_array_equal(res['bboxes'], [[0, 0, w, h]])
    # a detector that finds nobody gives nobody, not the whole picture
    res = estimate_poses(model, None, IMAGE, det_model=people_at(
        np.zeros((0, 4))))[0]
    assert res['keypoints'].shape == (0, 17, 2)
    assert res['bboxes'].shape == (0, 4)


def test_bad_boxes_and_detectors_are_named(outside, model):
    with pytest.raises(ValueError, match='2 box arrays for 1 pictures'):
        estimate_poses(model, None, [IMAGE], boxes=[None, None])
    with pytest.raises(ValueError, match=r'boxes of picture 0.*\(M, 5\)'):
        estimate_poses(model, None, IMAGE, boxes=np.zeros((2, 3)))
    with pytest.raises(ValueError, match='the detector detect returned'):
        estimate_poses(model, None, IMAGE,
                       det_model=people_at(np.zeros((2, 6))))
    with pytest.raises(FileNotFoundError, match='missing.jpg'):
        estimate_poses(model, None, 'missing.jpg', boxes=[[0, 0, 5, 5]])
    with pytest.raises(FileNotFoundError, match='det_model nodet.py'):
        PoseInferencer(model, det_model='nodet.py')
    with pytest.raises(FileNotFoundError, match='pose config nopose.py'):
        estimate_poses('nopose.py', None, IMAGE)
    with pytest.raises(ValueError, match='folder or a video'):
        estimate_poses(model, None, [IMAGE, str(outside)])


def test_default_detector_is_mmposes_for_coco(model):
    import mmpose
    from mmengine.config import Config
    ours = default_detector(model.cfg)
    theirs = default_detector(
        Config.fromfile(
            osp.join(osp.dirname(mmpose.__file__), '.mim', 'configs',
                     MMPOSE_COCO)))
    assert dataset_object_type(model.cfg) == 'body'
    assert ours == theirs
    assert osp.basename(ours['model']) == DEFAULT_DET
    assert ours['cat_ids'] == (0, )


def test_checked_data_sets_pickle_by_name():
    from simdr_ext.datasets import (CheckedCocoDataset,
                                    CheckedCrowdPoseDataset,
                                    CheckedMpiiDataset)
    for cls in (CheckedCocoDataset, CheckedCrowdPoseDataset,
                CheckedMpiiDataset):
        assert pickle.loads(pickle.dumps(cls)) is cls


def test_default_detector_without_network(outside, model, no_network):
    infer = PoseInferencer(model)
    # boxes given: the detector is never needed, nothing is downloaded
    assert len(infer(IMAGE, boxes=[[10, 10, 90, 200]])[0]['bboxes']) == 1
    with pytest.raises(RuntimeError) as err:
        infer(IMAGE)
    msg = str(err.value)
    assert '\n' not in msg
    cached = osp.join(str(no_network), 'checkpoints',
                      'rtmdet_m_8xb32-100e_coco-obj365-person-235e8209.pth')
    assert 'cannot download' in msg and 'name resolution' in msg
    assert 'boxes=' in msg and 'det_model' in msg
    assert msg.endswith(f'put the file at {cached}')
    assert not osp.exists(cached)


def test_mmpose_inferencer_picks_mmposes_default_detector(
        quickstart_config, monkeypatch, no_network):
    """``MMPoseInferencer(pose2d=<simdr_ext config>)`` builds the detector
    it builds for mmpose's COCO configs (mmdet's DetInferencer stubbed)."""
    import mmpose
    import mmpose.apis.inferencers.base_mmpose_inferencer as base
    from mmpose.apis import MMPoseInferencer
    built = []

    class Recorder:

        def __init__(self, **kwargs):
            built.append(kwargs)

    monkeypatch.setattr(base, 'DetInferencer', Recorder)
    MMPoseInferencer(pose2d=quickstart_config, device='cpu')
    MMPoseInferencer(
        pose2d=osp.join(
            osp.dirname(mmpose.__file__), '.mim', 'configs', MMPOSE_COCO),
        device='cpu')
    assert len(built) == 2
    assert built[0] == built[1]
    assert osp.basename(built[0]['model']) == DEFAULT_DET
    assert built[0]['weights'].endswith('-235e8209.pth')


def test_person_detector_alone():
    detect = PersonDetector(people_at([[0, 0, 10, 10]]), nms_thr=None)
    dets = detect(np.zeros((20, 20, 3), np.uint8))
    np.testing.assert_array_equal(dets, [[0, 0, 10, 10, 1]])
    with pytest.raises(ValueError, match='give pose_cfg'):
        PersonDetector(None)
