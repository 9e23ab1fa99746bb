# Copyright (c) simdr_ext contributors. All rights reserved.
"""demo/topdown_demo.py's inputs and outputs, in-process: output names,
the output folder, non-ASCII names, the pixel budget and video frames."""
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest

from demo.topdown_demo import (box_source, check_out_dir, coco_image_id,
                               iter_frames, list_frames, output_names,
                               video_summary, write_png)
from simdr_runtime import ImageSizeError


def picture(value: int = 90, w: int = 40, h: int = 30) -> np.ndarray:
    img = np.full((h, w, 3), value, np.uint8)
    img[5:10, 5:20] = (0, 0, 255)
    return img


def save(path, img=None) -> str:
    """Write ``img`` encoded by the file's extension, through bytes (any
    file name)."""
    ok, buf = cv2.imencode(osp.splitext(str(path))[1], picture()
                           if img is None else img)
    assert ok
    with open(path, 'wb') as f:
        f.write(buf.tobytes())
    return str(path)


def video(path, frames: int = 6, w: int = 64, h: int = 48) -> str:
    """A Motion-JPEG AVI whose frame i is filled with 40 * i."""
    writer = cv2.VideoWriter(
        str(path), cv2.VideoWriter_fourcc(*'MJPG'), 10, (w, h))
    assert writer.isOpened()
    for i in range(frames):
        writer.write(np.full((h, w, 3), 40 * i, np.uint8))
    writer.release()
    return str(path)


def jpeg_starts(data: bytes):
    """Where each frame's JPEG starts in a Motion-JPEG file."""
    return [i for i in range(len(data) - 3)
            if data[i:i + 3] == b'\xff\xd8\xff']


def test_output_names_are_unique_per_input():
    paths = ['d/A.bmp', 'd/a.jpg', 'd/a.png', 'd/b.jpg', 'd/b_simdr_0.png',
             'd/c.jpg', 'd/c.png', 'd/c_jpg.bmp', 'd/x.webp']
    names = output_names(paths)
    assert names == ['A_bmp', 'a_jpg', 'a_png', 'b', 'b_simdr_0_2', 'c_jpg',
                     'c_png', 'c_jpg_2', 'x']
    # a picture's distribution files (b_simdr_0.png) are taken too
    assert output_names(['d/b_simdr_0.png', 'd/b.jpg']) == [
        'b_simdr_0', 'b_2'
    ]
    assert len({n.casefold() for n in names}) == len(names)


def test_iter_frames_names_and_non_ascii_files(tmp_path):
    """``a.jpg`` and ``a.png`` get two names; ``²³.png`` and a name that
    is not UTF-8 are read like any other."""
    folder = tmp_path / 'in'
    folder.mkdir()
    save(folder / 'a.jpg', picture(10))
    save(folder / 'a.png', picture(200))
    save(folder / '²³.png')
    raw = os.fsdecode(b'\xff\xfe.png')
    save(osp.join(str(folder), raw))
    frames = list(iter_frames(str(folder)))
    names = [(stem, name) for stem, name, _ in frames]
    assert names == [('a', 'a_jpg'), ('a', 'a_png'), ('²³', '²³'),
                     (raw[:-4], raw[:-4])]
    assert abs(int(frames[0][2].mean()) - int(frames[1][2].mean())) > 50
    assert all(img.shape == (30, 40, 3) for _, _, img in frames)


def test_a_non_ascii_digit_name_is_no_coco_id(tmp_path):
    """``'²³'.isdigit()`` is true but ``int('²³')`` fails: the detection
    file lookup treats it as a picture without an id."""
    assert coco_image_id('000000196141') == 196141
    assert coco_image_id('²³') is None and coco_image_id('١٢') is None
    dets = tmp_path / 'dets.json'
    dets.write_text(json.dumps([{
        'image_id': 23, 'category_id': 1, 'bbox': [1, 2, 10, 20],
        'score': 0.9
    }]))
    boxes_of = box_source(None, None, 0, str(dets), 0.3, 'cpu')
    img = picture()
    assert boxes_of('²³', img).shape == (0, 5)
    np.testing.assert_allclose(
        boxes_of('23', img), [[1, 2, 11, 22, 0.9]], rtol=1e-6)


def test_the_out_dir_must_not_be_the_inputs_folder(tmp_path):
    folder = tmp_path / 'in'
    folder.mkdir()
    image = save(folder / 'a.jpg')
    paths, _ = list_frames(str(folder))
    link = tmp_path / 'link'
    link.symlink_to(folder)
    for source, out in [(str(folder), str(folder)),
                        (str(folder), str(folder) + '/'),
                        (str(folder), str(link)),
                        (str(folder), str(folder / '..' / 'in')),
                        (image, str(folder)),
                        (str(link / 'a.jpg'), str(folder))]:
        with pytest.raises(ValueError, match='is the folder of the input'):
            check_out_dir(source, out, list_frames(source)[0])
    # an input linked from elsewhere: its real folder is protected too
    other = tmp_path / 'other'
    other.mkdir()
    (other / 'b.jpg').symlink_to(image)
    with pytest.raises(ValueError, match='folder of the input'):
        check_out_dir(str(other), str(folder), list_frames(str(other))[0])
    check_out_dir(str(folder), str(folder / 'vis'), paths)
    check_out_dir(str(folder), str(tmp_path / 'vis'), paths)
    vid = video(tmp_path / 'v.avi', frames=1)
    with pytest.raises(ValueError, match='folder of the input'):
        check_out_dir(vid, str(tmp_path), [vid])


def test_no_output_replaces_an_input(tmp_path):
    image = save(tmp_path / 'a.png')
    before = (tmp_path / 'a.png').read_bytes()
    with pytest.raises(ValueError, match='is an input: not overwritten'):
        write_png(str(tmp_path / 'x' / '..' / 'a.png'), picture(0),
                  {osp.realpath(image)})
    assert (tmp_path / 'a.png').read_bytes() == before
    with pytest.raises(ValueError, match='cannot write .*missing'):
        write_png(str(tmp_path / 'missing' / 'b.png'), picture(0), set())
    out = tmp_path / '²³_out.png'
    write_png(str(out), picture(7), {osp.realpath(image)})
    np.testing.assert_array_equal(
        cv2.imdecode(np.frombuffer(out.read_bytes(), np.uint8), 1),
        picture(7))


def test_images_get_the_pixel_budget(tmp_path, monkeypatch):
    path = save(tmp_path / 'a.png')
    monkeypatch.setenv('SIMDR_MAX_IMAGE_PIXELS', str(40 * 30 - 1))
    with pytest.raises(ImageSizeError, match=f'{path}: .*40x30'):
        list(iter_frames(path))


def test_a_video_gets_the_pixel_budget(tmp_path, monkeypatch):
    """The frame size is checked before a frame is read."""
    vid = video(tmp_path / 'v.avi', frames=2)
    monkeypatch.setenv('SIMDR_MAX_IMAGE_PIXELS', str(64 * 48 - 1))
    reads = []
    real = cv2.VideoCapture

    class Counting:
        def __init__(self, *args):
            self.cap = real(*args)

        def read(self):
            reads.append(1)
            return self.cap.read()

        def __getattr__(self, name):
            return getattr(self.cap, name)

    monkeypatch.setattr(cv2, 'VideoCapture', Counting)
    with pytest.raises(ImageSizeError, match=f'{vid}: .*64x48 = 3072 '
                       'pixels, over the budget of 3071'):
        list(iter_frames(vid))
    assert not reads


def test_a_corrupt_middle_frame_is_skipped_and_reported(tmp_path):
    vid = video(tmp_path / 'v.avi')
    data = bytearray(open(vid, 'rb').read())
    start = jpeg_starts(data)[2]
    data[start:start + 200] = bytes(200)
    bad = tmp_path / 'bad.avi'
    bad.write_bytes(bytes(data))
    messages, stats = [], {}
    frames = list(iter_frames(str(bad), stats, messages.append))
    assert [name for _, name, _ in frames] == [
        'bad_000000', 'bad_000001', 'bad_000003', 'bad_000004', 'bad_000005'
    ]
    # the frames after the bad one are the right ones
    means = [int(round(img.mean() / 40)) for _, _, img in frames]
    assert means == [0, 1, 3, 4, 5]
    assert stats == dict(reported=6, read=5, skipped=1, ended=6)
    assert messages == [
        f'warning: {bad}: frame 2 could not be decoded; skipped'
    ]
    summary = video_summary(str(bad), stats, 5)
    assert summary == [f'\n{bad}: 5 frames read, 1 skipped (could not be '
                       'decoded), 5 written']


def test_a_video_that_ends_early_says_so(tmp_path):
    vid = video(tmp_path / 'v.avi')
    data = open(vid, 'rb').read()
    cut = tmp_path / 'cut.avi'
    cut.write_bytes(data[:jpeg_starts(data)[4] - 10])
    messages, stats = [], {}
    frames = list(iter_frames(str(cut), stats, messages.append))
    assert len(frames) == 4 and not messages
    assert stats == dict(reported=6, read=4, skipped=0, ended=4)
    assert video_summary(str(cut), stats, 4)[1] == (
        f'warning: {cut}: the capture ended after 4 of its reported 6 '
        'frames')
    stats = {}
    assert len(list(iter_frames(vid, stats))) == 6
    assert stats == dict(reported=6, read=6, skipped=0, ended=6)
    assert len(video_summary(vid, stats, 6)) == 1


def test_an_empty_folder_is_an_error(tmp_path):
    (tmp_path / 'notes.txt').write_text('no pictures')
    with pytest.raises(ValueError, match='has no image files'):
        list_frames(str(tmp_path))


def test_run_demo_refuses_its_input_folder_before_writing(tmp_path,
                                                          quickstart_config):
    from demo.topdown_demo import run_demo
    folder = tmp_path / 'in'
    folder.mkdir()
    save(folder / 'a.jpg')
    save(folder / 'a.png')
    before = sorted(os.listdir(folder))
    with pytest.raises(ValueError, match='is the folder of the input'):
        run_demo(quickstart_config, None, str(folder), str(folder))
    assert sorted(os.listdir(folder)) == before


@pytest.mark.slow
def test_run_demo_writes_one_picture_per_input(tmp_path, quickstart_config):
    """In-process, an untrained quickstart SimDR model (whole-picture
    boxes): ``a.jpg``/``a.png``/``²³.png`` give three pictures and three
    distribution pictures, exactly the files reported."""
    from demo.topdown_demo import run_demo
    folder = tmp_path / 'in'
    folder.mkdir()
    save(folder / 'a.jpg', picture(10, 96, 128))
    save(folder / 'a.png', picture(200, 96, 128))
    save(folder / '²³.png', picture(90, 96, 128))
    out = tmp_path / 'out'
    messages = []
    written = run_demo(quickstart_config, None, str(folder), str(out),
                       simdr_keypoints=(0, ), log=messages.append)
    names = sorted(osp.basename(f) for f in written)
    assert names == sorted(os.listdir(out)) == [
        'a_jpg.png', 'a_jpg_simdr_00.png', 'a_png.png', 'a_png_simdr_00.png',
        '²³.png', '²³_simdr_00.png'
    ]
    # no detector and no boxes: said aloud, once
    assert sum('ONE person box covering the whole picture' in m
               for m in messages) == 1
    dark = cv2.imread(str(out / 'a_jpg.png'))
    light = cv2.imread(str(out / 'a_png.png'))
    assert dark.shape == light.shape == (128, 96, 3)
    assert light.mean() > dark.mean() + 50
