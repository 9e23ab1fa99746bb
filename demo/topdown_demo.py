# Copyright (c) simdr_ext contributors. All rights reserved.
"""Top-down pose estimation on images, a folder or a video.

Person boxes come from an mmdet detector (--det-config/--det-checkpoint),
from a detection file (--bbox-file: COCO results layout, JSON only, read by
simdr_ext.datasets.read_detections and matched by the numeric file name as
COCO image id; images only) or, with neither, the whole picture is one box,
and the demo warns that it does so. Boxes below --det-score-thr are dropped,
then mmpose's box NMS (--nms-thr) drops duplicates. The pose model is built
by mmpose's init_model, its checkpoint read by
simdr_ext.engine.load_checked_checkpoint, and run by mmpose's
inference_topdown.

Outputs, in --out-dir:
  <name>.png               the skeletons (mmpose's visualiser, keypoints with
                           a score >= --kpt-thr) and each box with its index
                           and score (#i 0.93)
  <name>_simdr_<ii>.png    SimDR models: box ii's crop with the 1D x/y
                           distributions of --simdr-keypoints, titled with
                           the picture, the box index and its score; the
                           argmax dot of a keypoint is drawn by the same
                           --kpt-thr rule as the skeleton
  <video>.mp4              a video: the drawn frames at the input's frame
                           rate (and <video>_<frame>.png with --save-frames)
A picture without any detected person is saved as it is, and the demo says
so. An unreadable input stops with a one-line error naming it.

Inputs are read as bytes and decoded by simdr_runtime.decode_image, within
its pixel budget (SIMDR_MAX_IMAGE_PIXELS), which video frames share. Two
inputs with one stem (a.jpg, a.png) keep their extension in the output name
(a_jpg.png, a_png.png), and no output replaces an input: --out-dir must not
be the folder of the inputs. A video frame that cannot be decoded is
skipped with a warning naming its index.

Examples:
  # boxes from a detection-result file (COCO image ids = file names)
  python demo/topdown_demo.py POSE_CONFIG POSE_CKPT \\
      --input tests/data/coco --out-dir vis \\
      --bbox-file tests/data/coco/test_coco_det_AP_H_56.json
  # boxes from an mmdet detector, on a video (vis/VIDEO.mp4)
  python demo/topdown_demo.py POSE_CONFIG POSE_CKPT --input VIDEO.mp4 \\
      --det-config DET_CONFIG --det-checkpoint DET_CKPT --out-dir vis
"""
import argparse
import os
import os.path as osp
import re
import sys
from typing import (Callable, Dict, Iterator, List, Optional, Sequence, Set,
                    Tuple)

import cv2
import numpy as np

import simdr_ext  # noqa: F401  (registers the modules)
from simdr_ext.datasets import read_detections
from simdr_ext.deploy import crop_geometry
from simdr_ext.engine import load_checked_checkpoint
from simdr_ext.utils.cli import tool_parser
from simdr_runtime.crops import box_center_scale, read_image, warp_matrices
from simdr_runtime.image_size import ImageSizeError, max_image_pixels

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.webp')
VIDEO_SUFFIXES = ('.mp4', '.avi', '.mov', '.mkv')
#: The distribution pictures' names: ``<picture name>_simdr_<box>``.
DIST_NAME = re.compile(r'(.*)_simdr_[0-9]+', re.DOTALL)
#: Failed reads in a row after which a video is taken to have ended.
MAX_FAILED_READS = 30

#: ``(stem, output name, BGR image (H, W, 3))``: the stem finds the
#: picture's boxes, the output name its files.
Frame = Tuple[str, str, np.ndarray]


def printable(text: str) -> str:
    """``text`` with undecodable file-name bytes (surrogate escapes) shown
    as ``\\xNN``, so that it can be printed."""
    try:
        return text.encode('utf-8', 'surrogateescape').decode(
            'utf-8', 'backslashreplace')
    except UnicodeEncodeError:
        return text.encode('utf-8', 'backslashreplace').decode('utf-8')


def list_frames(source: str) -> Tuple[List[str], bool]:
    """The image files of ``source`` (one file, or a folder's images sorted
    by name), or ``[source]`` and ``True`` for a video.

    Raises:
        ValueError: A folder without any image file.
    """
    if osp.isdir(source):
        paths = sorted(
            osp.join(source, n) for n in os.listdir(source)
            if n.lower().endswith(IMAGE_SUFFIXES))
        if not paths:
            raise ValueError(f'{printable(source)} has no image files '
                             f'({", ".join(IMAGE_SUFFIXES)})')
        return paths, False
    return [source], source.lower().endswith(VIDEO_SUFFIXES)


def output_names(paths: Sequence[str]) -> List[str]:
    """One output name (no extension) per input file, all different.

    The name is the file stem; inputs whose stems are equal (ignoring case,
    for case-insensitive file systems) keep their extension in it
    (``a.jpg`` → ``a_jpg``). A name still taken, or one that the
    distribution pictures of another (``<name>_simdr_<i>``) would take, gets
    ``_2``, ``_3``...

    Args:
        paths (Sequence[str]): The input files.

    Returns:
        list[str]: The names, in the order of ``paths``.
    """
    stems = [osp.splitext(osp.basename(p)) for p in paths]
    counts: Dict[str, int] = {}
    for stem, _ in stems:
        counts[stem.casefold()] = counts.get(stem.casefold(), 0) + 1
    names: List[str] = []
    taken: Set[str] = set()
    # the names X of the taken names X_simdr_<i>
    dist_of: Set[str] = set()

    def clash(name: str) -> bool:
        match = DIST_NAME.fullmatch(name)
        return name in taken or name in dist_of or bool(
            match and match.group(1) in taken)

    for stem, ext in stems:
        name = stem
        if counts[stem.casefold()] > 1 and ext:
            name = f'{stem}_{ext[1:]}'
        unique, n = name, 2
        while clash(unique.casefold()):
            unique, n = f'{name}_{n}', n + 1
        taken.add(unique.casefold())
        match = DIST_NAME.fullmatch(unique.casefold())
        if match:
            dist_of.add(match.group(1))
        names.append(unique)
    return names


def check_out_dir(source: str, out_dir: str, paths: Sequence[str]) -> None:
    """Refuse an output folder that is the folder of the inputs.

    Args:
        source (str): The image file, folder or video.
        out_dir (str): The output folder.
        paths (Sequence[str]): The input files (:func:`list_frames`).

    Raises:
        ValueError: ``out_dir`` (links resolved) is ``source`` (a folder),
            or the folder of ``source`` or of an input file (or of the
            file a linked input points to).
    """
    out_real = osp.realpath(out_dir)
    folders = {osp.realpath(source)} if osp.isdir(source) else set()
    for path in list(paths) + [source]:
        folders.add(osp.dirname(osp.abspath(path)))
        folders.add(osp.dirname(osp.realpath(path)))
    if out_real in {osp.realpath(f) for f in folders}:
        raise ValueError(
            f'--out-dir {printable(out_dir)} is the folder of the input '
            f'{printable(source)}: the pictures written there could replace '
            'inputs; choose another folder')


def write_png(out_file: str, img: np.ndarray, protected: Set[str]) -> None:
    """Write a BGR image (H, W, 3) as PNG, never over an input.

    Args:
        out_file (str): The file to write.
        img (np.ndarray): BGR uint8 image in shape (H, W, 3).
        protected (set[str]): Real paths of the inputs.

    Raises:
        ValueError: ``out_file`` is an input, or the image cannot be
            encoded or written.
    """
    if osp.realpath(out_file) in protected:
        raise ValueError(f'{printable(out_file)} is an input: not '
                         'overwritten')
    ok, buf = cv2.imencode('.png', img)
    if not ok:
        raise ValueError(f'cannot encode {printable(out_file)} as PNG')
    try:
        with open(out_file, 'wb') as f:
            f.write(buf.tobytes())
    except OSError as err:
        raise ValueError(f'cannot write {printable(out_file)}: '
                         f'{err.strerror or err}') from None


def open_video(source: str,
               max_pixels: Optional[int] = None
               ) -> Tuple[cv2.VideoCapture, int]:
    """Open a video whose frames fit the pixel budget.

    Args:
        source (str): The video file.
        max_pixels (int, optional): The budget; ``None``:
            :func:`simdr_runtime.image_size.max_image_pixels`.

    Returns:
        tuple: The capture and its reported frame count (0 if unknown).

    Raises:
        FileNotFoundError: OpenCV cannot open it.
        ImageSizeError: Its frame size is unknown or over the budget.
    """
    budget = max_image_pixels(max_pixels)
    cap = cv2.VideoCapture(source)
    if not cap.isOpened():
        raise FileNotFoundError(f'cannot open video {printable(source)}')
    width = cap.get(cv2.CAP_PROP_FRAME_WIDTH)
    height = cap.get(cv2.CAP_PROP_FRAME_HEIGHT)
    count = cap.get(cv2.CAP_PROP_FRAME_COUNT)
    if not (np.isfinite(width) and np.isfinite(height) and width >= 1
            and height >= 1):
        cap.release()
        raise ImageSizeError(f'cannot read video {printable(source)}: its '
                             'frame size is unknown before decoding')
    width, height = int(width), int(height)
    if width * height > budget:
        cap.release()
        raise ImageSizeError(
            f'cannot read video {printable(source)}: its frames are '
            f'{width}x{height} = {width * height} pixels, over the budget of '
            f'{budget} pixels; to allow them, set the environment variable '
            'SIMDR_MAX_IMAGE_PIXELS')
    count = int(count) if np.isfinite(count) and count > 0 else 0
    return cap, count


def video_frames(cap: cv2.VideoCapture,
                 source: str,
                 stats: Dict[str, int],
                 log: Callable[[str], None] = print,
                 max_pixels: Optional[int] = None) -> Iterator[Frame]:
    """The frames of an open capture; the ones that fail to decode are
    skipped with a warning.

    A failed read followed by a good one is a skipped frame (warned with
    its index); :data:`MAX_FAILED_READS` failed reads in a row, or a failed
    read at the reported count, end the video. The capture is released.

    Args:
        cap (cv2.VideoCapture): An open capture (:func:`open_video`).
        source (str): The video, for the names and messages.
        stats (dict): Filled with ``reported`` (the capture's frame count,
            0 if unknown; set by the caller), ``read``, ``skipped`` and
            ``ended`` (frames seen, read or skipped, when it ended).
        log (callable): Where warnings go. Defaults to ``print``.
        max_pixels (int, optional): The budget for each frame.

    Yields:
        tuple: ``(name, name, BGR frame (H, W, 3))``, the name being
        ``<video stem>_<frame index>``.
    """
    budget = max_image_pixels(max_pixels)
    stem = osp.splitext(osp.basename(source))[0]
    reported = stats.setdefault('reported', 0)
    stats.update(read=0, skipped=0, ended=0)
    index, failed = 0, []
    try:
        while True:
            ok, frame = cap.read()
            if not ok or frame is None:
                if reported and index >= reported:
                    break
                failed.append(index)
                index += 1
                if len(failed) >= MAX_FAILED_READS:
                    break
                continue
            for bad in failed:
                log(f'warning: {printable(source)}: frame {bad} could not '
                    'be decoded; skipped')
            stats['skipped'] += len(failed)
            failed = []
            if frame.ndim != 3 or frame.shape[2] != 3 or \
                    frame.shape[0] * frame.shape[1] > budget:
                raise ImageSizeError(
                    f'cannot read video {printable(source)}: frame {index} '
                    f'has shape {frame.shape}, not a BGR frame within the '
                    f'budget of {budget} pixels')
            stats['read'] += 1
            name = f'{stem}_{index:06d}'
            index += 1
            yield name, name, frame
    finally:
        cap.release()
        stats['ended'] = index - len(failed)


def video_summary(source: str, stats: Dict[str, int],
                  written: int) -> List[str]:
    """The closing lines for a video: frames read, skipped and written,
    and a warning when the capture ended before its reported count.

    Args:
        source (str): The video.
        stats (dict): :func:`video_frames`' counts.
        written (int): Pictures written for its frames.

    Returns:
        list[str]: The lines to log.
    """
    lines = [f'\n{printable(source)}: {stats["read"]} frames read, '
             f'{stats["skipped"]} skipped (could not be decoded), {written} '
             'written']
    if stats['reported'] and stats['ended'] < stats['reported']:
        lines.append(f'warning: {printable(source)}: the capture ended after '
                     f'{stats["ended"]} of its reported {stats["reported"]} '
                     'frames')
    return lines


def iter_frames(source: str,
                stats: Optional[Dict[str, int]] = None,
                log: Callable[[str], None] = print,
                max_pixels: Optional[int] = None) -> Iterator[Frame]:
    """Yield ``(stem, output name, BGR image (H, W, 3))`` of an image file,
    a folder or a video.

    Images are read as bytes and decoded within the pixel budget
    (:func:`simdr_runtime.crops.read_image`); the output names are
    :func:`output_names`'. Video frames are :func:`video_frames`'.

    Args:
        source (str): Image file, folder or video.
        stats (dict, optional): For a video, see :func:`video_frames`.
        log (callable): Where warnings go. Defaults to ``print``.
        max_pixels (int, optional): The pixel budget.
    """
    paths, video = list_frames(source)
    if not video:
        for path, name in zip(paths, output_names(paths)):
            yield (osp.splitext(osp.basename(path))[0], name,
                   read_image(path, max_pixels=max_pixels))
        return
    stats = {} if stats is None else stats
    cap, stats['reported'] = open_video(source, max_pixels)
    yield from video_frames(cap, source, stats, log, max_pixels)


def coco_image_id(name: str) -> Optional[int]:
    """The COCO image id a file stem stands for: its value when it is all
    ASCII digits, else ``None``."""
    return int(name) if name.isascii() and name.isdigit() else None


def boxes_by_image(bbox_file: str,
                   score_thr: float = 0.0) -> Dict[int, np.ndarray]:
    """Person boxes of a detection file with a score >= ``score_thr``.

    Args:
        bbox_file (str): COCO results layout, a ``.json`` file (read by
            :func:`simdr_ext.datasets.read_detections`: malformed entries
            stop with an error naming them, unusable ones are skipped with
            a warning).
        score_thr (float): Minimum score. Defaults to 0.0.

    Returns:
        dict: ``image_id -> (M, 5)`` xyxy boxes and their scores (float32).
    """
    out: Dict[int, List] = {}
    for det in read_detections(bbox_file):
        if det['score'] >= score_thr:
            x, y, w, h = det['bbox']
            out.setdefault(det['image_id'],
                           []).append([x, y, x + w, y + h, det['score']])
    return {k: np.array(v, np.float32) for k, v in out.items()}


def whole_picture_box(img: np.ndarray) -> np.ndarray:
    """One box (1, 5) covering the whole BGR image (H, W, 3), score 1."""
    return np.array([[0, 0, img.shape[1], img.shape[0], 1]], np.float32)


def box_source(det_config: Optional[str], det_checkpoint: Optional[str],
               det_cat_id: int, bbox_file: Optional[str], score_thr: float,
               device: str) -> Callable[[str, np.ndarray], np.ndarray]:
    """``boxes(name, image) -> (M, 5)`` xyxy person boxes and scores, from
    the detector (class ``det_cat_id``), the detection file or the whole
    picture; boxes with a score below ``score_thr`` are left out."""
    if det_config is not None:
        from mmdet.apis import inference_detector, init_detector
        detector = init_detector(det_config, det_checkpoint, device=device)

        def detect(name: str, img: np.ndarray) -> np.ndarray:
            pred = inference_detector(detector, img).pred_instances.cpu()
            scores = pred.scores.numpy()
            keep = (pred.labels.numpy() == det_cat_id) & (scores >= score_thr)
            return np.concatenate(
                [pred.bboxes.numpy()[keep], scores[keep, None]],
                axis=1).astype(np.float32)

        return detect
    if bbox_file is not None:
        by_id = boxes_by_image(bbox_file, score_thr)
        return lambda name, img: by_id.get(
            coco_image_id(name), np.zeros((0, 5), np.float32))
    return lambda name, img: whole_picture_box(img)


def nms_boxes(boxes: np.ndarray, nms_thr: float) -> np.ndarray:
    """The boxes that mmpose's greedy NMS keeps, highest score first.

    mmpose's ``demo/topdown_demo_with_mmdet.py`` runs the same
    ``mmpose.evaluation.functional.nms`` on the detector's boxes; here it
    also runs on the boxes of a detection file.

    Args:
        boxes (np.ndarray): xyxy boxes and scores in shape (M, 5).
        nms_thr (float): A box whose IoU with a kept box of higher score
            is above this is dropped; 1 keeps every box.

    Returns:
        np.ndarray: The kept boxes in shape (M', 5), by falling score.
    """
    from mmpose.evaluation.functional import nms
    boxes = np.asarray(boxes, np.float32).reshape(-1, 5)
    if len(boxes) == 0 or nms_thr >= 1:
        return boxes[np.argsort(-boxes[:, 4], kind='stable')]
    return boxes[np.asarray(nms(boxes, nms_thr), np.int64)]


def draw_boxes(img: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Draw each box with its index and score, as the SimDR plot files
    name them (``#i 0.93``).

    Args:
        img (np.ndarray): BGR image in shape (H, W, 3), drawn on in place.
        boxes (np.ndarray): xyxy boxes and scores in shape (M, 5).

    Returns:
        np.ndarray: ``img``.
    """
    thick = max(1, round(max(img.shape[:2]) / 1000))
    scale = 0.45 * thick
    for i, (x1, y1, x2, y2, score) in enumerate(np.asarray(boxes)):
        p1 = (int(round(x1)), int(round(y1)))
        cv2.rectangle(img, p1, (int(round(x2)), int(round(y2))),
                      (0, 255, 0), thick)
        label = f'#{i} {score:.2f}'
        (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX,
                                         scale, thick)
        top = max(p1[1] - th - base, 0)
        cv2.rectangle(img, (p1[0], top), (p1[0] + tw, top + th + base),
                      (0, 255, 0), -1)
        cv2.putText(img, label, (p1[0], top + th), cv2.FONT_HERSHEY_SIMPLEX,
                    scale, (0, 0, 0), thick, cv2.LINE_AA)
    return img


def default_keypoint_ids(names: Sequence[str]) -> List[int]:
    """The keypoints plotted when ``--simdr-keypoints`` is not given: the
    nose and the wrists when the data set has them (COCO and its kin),
    else up to three spread over the K keypoints (first, middle, last).

    Args:
        names (Sequence[str]): The K keypoint names of the data set meta.

    Returns:
        list[int]: Keypoint ids.
    """
    wanted = [names.index(n) for n in ('nose', 'left_wrist', 'right_wrist')
              if n in names]
    if wanted:
        return wanted
    count = min(3, len(names))
    return sorted({int(round(i)) for i in
                   np.linspace(0, len(names) - 1, count)})


def keypoint_ids(requested: Optional[Sequence[str]],
                 names: Sequence[str]) -> List[int]:
    """``--simdr-keypoints`` read against the model's K keypoints.

    Args:
        requested (Sequence[str], optional): Ids or names; ``None`` takes
            :func:`default_keypoint_ids`.
        names (Sequence[str]): The K keypoint names of the data set meta.

    Returns:
        list[int]: Keypoint ids in [0, K).

    Raises:
        ValueError: An id out of range or an unknown name, listing the
            model's keypoints.
    """
    if requested is None:
        return default_keypoint_ids(names)
    ids = []
    for item in requested:
        item = str(item)
        if item.lstrip('-').isdigit() and 0 <= int(item) < len(names):
            ids.append(int(item))
        elif item in names:
            ids.append(list(names).index(item))
        else:
            known = ', '.join(f'{i} {n}' for i, n in enumerate(names))
            raise ValueError(
                f'--simdr-keypoints {item}: not a keypoint of this model, '
                f'which has K = {len(names)} keypoints ({known})')
    return ids


def distribution_name(name: str, index: int, count: int) -> str:
    """The SimDR plot file of box ``index`` of ``count``:
    ``<name>_simdr_<index>``, zero-padded to at least two digits (all the
    boxes of a picture the same width) so that the files sort by box."""
    width = max(2, len(str(max(count - 1, 0))))
    return f'{name}_simdr_{index:0{width}d}'


def crop_of(img: np.ndarray, box: np.ndarray, geometry) -> np.ndarray:
    """The model's input crop (h, w, 3) of one xyxy box (4, ) (a score
    after the 4 values is ignored), as ``TopdownAffine`` makes it with the
    config's ``geometry`` (:func:`simdr_ext.deploy.crop_geometry`)."""
    size = geometry.input_size
    center, scale = box_center_scale(
        np.asarray(box, np.float32)[:4].reshape(1, 4), size, geometry.padding)
    warp = warp_matrices(center, scale, size, geometry.use_udp)[0]
    return cv2.warpAffine(
        img, warp, tuple(int(v) for v in size), flags=cv2.INTER_LINEAR)


def simdr_figure(crop: np.ndarray,
                 x_probs: np.ndarray,
                 y_probs: np.ndarray,
                 keypoint_ids: Sequence[int],
                 names: Sequence[str],
                 scores: Optional[np.ndarray] = None,
                 kpt_thr: float = 0.0,
                 title: str = ''):
    """The crop with the x distributions below and y at the right.

    Args:
        crop (np.ndarray): BGR crop in shape (h, w, 3).
        x_probs (np.ndarray): Softmax over x bins, shape (K, Wx).
        y_probs (np.ndarray): Softmax over y bins, shape (K, Wy).
        keypoint_ids (Sequence[int]): Keypoints to draw.
        names (Sequence[str]): Keypoint names, indexed by id.
        scores (np.ndarray, optional): Keypoint scores in shape (K, ): a
            keypoint's argmax dot is drawn only when its score is at least
            ``kpt_thr``, the rule of the skeleton picture. ``None`` draws
            every dot.
        kpt_thr (float): Minimum score of a drawn dot. Defaults to 0.
        title (str): The figure's title. Defaults to none.

    Returns:
        matplotlib.figure.Figure: The figure (Agg canvas).
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    h, w = crop.shape[:2]
    fig = plt.figure(figsize=(6, 6 * h / w * 0.9 + 1.5))
    grid = fig.add_gridspec(2, 2, width_ratios=(4, 1), height_ratios=(4, 1))
    ax_img = fig.add_subplot(grid[0, 0])
    ax_x = fig.add_subplot(grid[1, 0], sharex=ax_img)
    ax_y = fig.add_subplot(grid[0, 1], sharey=ax_img)
    ax_img.imshow(crop[..., ::-1], extent=(-0.5, w - 0.5, h - 0.5, -0.5))
    ax_img.set_axis_off()
    # bin i sits at i / k input pixels
    xs = np.arange(x_probs.shape[-1]) * (w / x_probs.shape[-1])
    ys = np.arange(y_probs.shape[-1]) * (h / y_probs.shape[-1])
    for k in keypoint_ids:
        label = names[k] if k < len(names) else str(k)
        shown = scores is None or scores[k] >= kpt_thr
        if scores is not None:
            label += f' {scores[k]:.2f}' + ('' if shown else ' (hidden)')
        line, = ax_x.plot(xs, x_probs[k], label=label)
        ax_y.plot(y_probs[k], ys, color=line.get_color())
        if shown:
            ax_img.plot(
                xs[x_probs[k].argmax()],
                ys[y_probs[k].argmax()],
                'o',
                color=line.get_color(),
                markersize=5)
    ax_x.set_xlabel('x (input px)')
    ax_x.set_ylabel('p')
    ax_y.set_xlabel('p')
    # the probability axes are narrow: two ticks, small labels
    ax_y.xaxis.set_major_locator(MaxNLocator(nbins=2, prune='lower'))
    ax_x.yaxis.set_major_locator(MaxNLocator(nbins=2, prune='lower'))
    for ax in (ax_x, ax_y):
        ax.tick_params(labelsize=7)
    ax_y.tick_params(axis='y', labelleft=False)
    ax_x.legend(fontsize=7, loc='upper right')
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def draw_simdr_distributions(crop: np.ndarray,
                             x_probs: np.ndarray,
                             y_probs: np.ndarray,
                             keypoint_ids: Sequence[int],
                             names: Sequence[str],
                             out_file: str,
                             scores: Optional[np.ndarray] = None,
                             kpt_thr: float = 0.0,
                             title: str = '') -> None:
    """Save :func:`simdr_figure` (same arguments) as a PNG ``out_file``."""
    import matplotlib.pyplot as plt
    fig = simdr_figure(crop, x_probs, y_probs, keypoint_ids, names, scores,
                       kpt_thr, title)
    fig.savefig(out_file, dpi=100)
    plt.close(fig)


def open_video_writer(out_file: str, fps: float,
                      size: Tuple[int, int]) -> cv2.VideoWriter:
    """An MP4 (``mp4v``) writer of BGR frames of ``size`` (w, h).

    Raises:
        ValueError: OpenCV cannot write it.
    """
    writer = cv2.VideoWriter(out_file, cv2.VideoWriter_fourcc(*'mp4v'),
                             fps, size)
    if not writer.isOpened():
        raise ValueError(f'cannot write the video {printable(out_file)} '
                         '(OpenCV has no mp4v encoder here); --save-frames '
                         'writes the frames as PNG files instead')
    return writer


def video_fps(source: str, log: Callable[[str], None] = print) -> float:
    """The frame rate a video reports, or 25 (with a warning) when it
    reports none."""
    cap = cv2.VideoCapture(source)
    fps = cap.get(cv2.CAP_PROP_FPS) if cap.isOpened() else 0.0
    cap.release()
    if np.isfinite(fps) and fps > 0:
        return float(fps)
    log(f'warning: {printable(source)} reports no frame rate; the output '
        'video is written at 25 fps')
    return 25.0


def run_demo(pose_config: str,
             pose_checkpoint: Optional[str],
             source: str,
             out_dir: str,
             det_config: Optional[str] = None,
             det_checkpoint: Optional[str] = None,
             det_cat_id: int = 0,
             bbox_file: Optional[str] = None,
             det_score_thr: float = 0.3,
             kpt_thr: float = 0.3,
             simdr_keypoints: Optional[Sequence[str]] = None,
             device: str = 'cpu',
             log: Callable[[str], None] = print,
             nms_thr: float = 0.3,
             save_frames: bool = False) -> List[str]:
    """Estimate poses in every picture of ``source`` and save them.

    Args:
        pose_config (str): simdr_ext (or mmpose) pose config.
        pose_checkpoint (str, optional): Its checkpoint.
        source (str): Image file, folder or video.
        out_dir (str): Where the PNGs (and the video) go.
        det_config (str, optional): mmdet config. Defaults to ``None``.
        det_checkpoint (str, optional): mmdet checkpoint. Defaults to
            ``None``.
        det_cat_id (int): The detector's person class. Defaults to 0.
        bbox_file (str, optional): Detection results. Defaults to ``None``.
        det_score_thr (float): Minimum box score. Defaults to 0.3.
        kpt_thr (float): Minimum keypoint score to draw, on the skeleton
            picture and the SimDR plots alike. Defaults to 0.3.
        simdr_keypoints (Sequence[str], optional): Ids or names of the
            keypoints whose 1D distributions are drawn for SimDR models;
            ``None``: :func:`default_keypoint_ids`.
        device (str): Device. Defaults to ``'cpu'``.
        log (callable): Where messages go. Defaults to ``print``.
        nms_thr (float): IoU above which the lower-scored of two boxes is
            dropped (:func:`nms_boxes`). Defaults to 0.3, as mmpose's
            ``demo/topdown_demo_with_mmdet.py``.
        save_frames (bool): For a video, also write each frame (and its
            SimDR plots) as PNG. Defaults to ``False``.

    Returns:
        list[str]: The files written, in order.

    Raises:
        ValueError: ``out_dir`` is the folder of the inputs, ``bbox_file``
            is given with a video, ``simdr_keypoints`` names no keypoint
            of the model, an input cannot be read (``ImageSizeError`` over
            the pixel budget) or a file cannot be written.
    """
    from mmengine.utils import ProgressBar

    from mmpose.apis import inference_topdown, init_model
    from mmpose.registry import VISUALIZERS
    from mmpose.structures import merge_data_samples

    paths, video = list_frames(source)
    check_out_dir(source, out_dir, paths)
    if video and bbox_file is not None:
        raise ValueError(
            f'--bbox-file {printable(bbox_file)} cannot serve the video '
            f'{printable(source)}: a detection file finds the boxes of a '
            'picture by its COCO image id (the numeric file name), and '
            'video frames have none; give --det-config/--det-checkpoint, '
            'or write the frames to a folder named by image id')
    if det_config is None and bbox_file is None:
        log('warning: neither --det-config nor --bbox-file given: every '
            'picture is taken as ONE person box covering the whole picture; '
            'with several people, or a small one, the poses are wrong. Give '
            'a person detector (--det-config/--det-checkpoint) or boxes '
            '(--bbox-file).')
    protected = {osp.realpath(p) for p in paths}
    stats: Dict[str, int] = {}
    if video:
        fps = video_fps(source, log)
        cap, stats['reported'] = open_video(source)
        frames = video_frames(cap, source, stats, log)
    model = init_model(pose_config, None, device=device)
    load_checked_checkpoint(model, pose_checkpoint)
    # SimDR heads put the 1D softmax distributions (keypoint_x_probs /
    # keypoint_y_probs) beside the keypoints when asked for their outputs
    with_dists = hasattr(getattr(model.head, 'decoder', None), 'split_ratio')
    model.test_cfg['output_heatmaps'] = with_dists
    geometry = crop_geometry(model.cfg)
    # no visualisation back end: the pictures are written here
    vis_cfg = dict(model.cfg.visualizer, vis_backends=[], save_dir=None)
    visualizer = VISUALIZERS.build(vis_cfg)
    visualizer.set_dataset_meta(model.dataset_meta)
    meta = model.dataset_meta
    names = [meta['keypoint_id2name'][i] for i in range(meta['num_keypoints'])]
    plot_ids = keypoint_ids(simdr_keypoints, names)
    boxes_of = box_source(det_config, det_checkpoint, det_cat_id, bbox_file,
                          det_score_thr, device)
    os.makedirs(out_dir, exist_ok=True)
    written: List[str] = []
    writer = None
    video_file = ''
    if video:
        video_file = osp.join(
            out_dir, osp.splitext(osp.basename(source))[0] + '.mp4')
        if osp.realpath(video_file) in protected:
            raise ValueError(f'{printable(video_file)} is an input: not '
                             'overwritten')
    else:
        frames = iter_frames(source)
    progress = ProgressBar(stats['reported'] if video else len(paths))
    in_video = 0
    try:
        for stem, name, img in frames:
            out_file = osp.join(out_dir, f'{name}.png')
            bboxes = nms_boxes(boxes_of(stem, img), nms_thr)
            progress.update()
            if len(bboxes) == 0:
                log(f'\n{printable(name)}: no person detected (score >= '
                    f'{det_score_thr}); saved without a pose')
                drawn, sample = img, None
            else:
                sample = merge_data_samples(
                    inference_topdown(model, img, bboxes[:, :4]))
                visualizer.add_datasample(
                    name,
                    img[..., ::-1],
                    sample,
                    draw_gt=False,
                    draw_heatmap=False,
                    kpt_thr=kpt_thr,
                    show=False)
                drawn = draw_boxes(
                    np.ascontiguousarray(visualizer.get_image()[..., ::-1]),
                    bboxes)
            if video:
                if writer is None:
                    writer = open_video_writer(
                        video_file, fps, (img.shape[1], img.shape[0]))
                writer.write(drawn)
                in_video += 1
            if video and not save_frames:
                continue
            write_png(out_file, drawn, protected)
            written.append(out_file)
            if sample is None or not with_dists:
                continue
            pred = sample.pred_instances
            for i, box in enumerate(bboxes):
                dist_file = osp.join(
                    out_dir, distribution_name(name, i, len(bboxes)) + '.png')
                if osp.realpath(dist_file) in protected:
                    raise ValueError(f'{printable(dist_file)} is an input: '
                                     'not overwritten')
                draw_simdr_distributions(
                    crop_of(img, box, geometry),
                    pred.keypoint_x_probs[i],
                    pred.keypoint_y_probs[i],
                    plot_ids,
                    names,
                    dist_file,
                    scores=pred.keypoint_scores[i],
                    kpt_thr=kpt_thr,
                    title=f'{printable(name)}, person #{i}, box score '
                    f'{box[4]:.2f}')
                written.append(dist_file)
    finally:
        if writer is not None:
            writer.release()
    if video:
        if writer is not None:
            written.insert(0, video_file)
        for line in video_summary(source, stats, in_video):
            log(line)
    return written


def build_parser() -> argparse.ArgumentParser:
    """The command line: the module docstring is its description, its
    examples the epilog."""
    parser = tool_parser(__doc__)
    parser.add_argument('pose_config', help='pose config file')
    parser.add_argument(
        'pose_checkpoint', help='pose checkpoint file (.pth) of the config')
    parser.add_argument(
        '--input', required=True, help='image file, image folder or video')
    parser.add_argument(
        '--out-dir',
        default='vis_results',
        help='folder for the pictures (relative to the current folder); '
        'not the folder of the inputs')
    parser.add_argument(
        '--det-config', help='mmdet config of a person detector')
    parser.add_argument(
        '--det-checkpoint', help='checkpoint of --det-config')
    parser.add_argument(
        '--det-cat-id',
        type=int,
        default=0,
        help="the detector's person class (0 for COCO detectors)")
    parser.add_argument(
        '--bbox-file',
        help='detection results, COCO results layout (.json); images only, '
        'matched by their numeric file name as COCO image id')
    parser.add_argument(
        '--det-score-thr',
        type=float,
        default=0.3,
        help='minimum score of a person box')
    parser.add_argument(
        '--nms-thr',
        type=float,
        default=0.3,
        help='IoU above which the lower-scored of two person boxes is '
        "dropped (mmpose's NMS, default as mmpose's "
        'demo/topdown_demo_with_mmdet.py); 1 keeps every box')
    parser.add_argument(
        '--kpt-thr',
        type=float,
        default=0.3,
        help='minimum keypoint score drawn, on the skeleton picture and the '
        'SimDR plots alike')
    parser.add_argument(
        '--simdr-keypoints',
        nargs='+',
        metavar='ID_OR_NAME',
        help='keypoint ids or names whose 1D distributions are plotted for '
        "SimDR models; without it: nose and wrists when the data set's "
        'meta has them, else up to three spread over its keypoints')
    parser.add_argument(
        '--save-frames',
        action='store_true',
        help='for a video, also write every frame (and its SimDR plots) as '
        'PNG beside the output video')
    parser.add_argument(
        '--device', default='cpu', help='torch device, e.g. cuda:0')
    return parser


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    for name in ('det_score_thr', 'nms_thr', 'kpt_thr'):
        if not np.isfinite(getattr(args, name)):
            parser.error(f'--{name.replace("_", "-")} must be a finite '
                         f'number, got {getattr(args, name)}')
    if not 0 <= args.nms_thr <= 1:
        parser.error(f'--nms-thr must be in [0, 1], got {args.nms_thr}')
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    # undecodable file names are printed escaped, whatever the console
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, 'reconfigure'):
            stream.reconfigure(errors='backslashreplace')
    args = parse_args(argv)
    try:
        files = run_demo(
            args.pose_config,
            args.pose_checkpoint,
            args.input,
            args.out_dir,
            args.det_config,
            args.det_checkpoint,
            args.det_cat_id,
            args.bbox_file,
            args.det_score_thr,
            args.kpt_thr,
            args.simdr_keypoints,
            args.device,
            nms_thr=args.nms_thr,
            save_frames=args.save_frames)
    except (FileNotFoundError, ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    print(f'\nwrote {len(files)} files to {printable(args.out_dir)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
