# Copyright (c) simdr_ext contributors. All rights reserved.
"""Images → person boxes → simdr_ext pose model → pictures.

Used by ``demo/topdown_demo.py``. Everything goes through mmpose's own
``init_model`` / ``inference_topdown`` and its visualiser; simdr_ext adds
the picture of SimDR's 1D x/y distributions beside the crop.
"""
import os
import os.path as osp
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from .detection import IMAGE_SUFFIXES

VIDEO_SUFFIXES = ('.mp4', '.avi', '.mov', '.mkv')


def iter_frames(source: str) -> Iterator[Tuple[str, np.ndarray]]:
    """Yield ``(name, BGR image)`` of an image file, a folder or a video.

    Args:
        source (str): Image file, image folder or video file.

    Yields:
        tuple: A name (file stem, or ``<video>_<frame>``) and the image in
        shape (H, W, 3).
    """
    if osp.isdir(source):
        paths = sorted(
            osp.join(source, n) for n in os.listdir(source)
            if n.lower().endswith(IMAGE_SUFFIXES))
    elif source.lower().endswith(VIDEO_SUFFIXES):
        cap = cv2.VideoCapture(source)
        if not cap.isOpened():
            raise FileNotFoundError(f'cannot open video {source}')
        stem, index = osp.splitext(osp.basename(source))[0], 0
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            yield f'{stem}_{index:06d}', frame
            index += 1
        cap.release()
        return
    else:
        paths = [source]
    for path in paths:
        img = cv2.imread(path)
        if img is None:
            raise FileNotFoundError(f'cannot read image {path}')
        yield osp.splitext(osp.basename(path))[0], img


def count_frames(source: str) -> int:
    """Number of pictures :func:`iter_frames` yields (for a progress bar)."""
    if osp.isdir(source):
        return sum(
            n.lower().endswith(IMAGE_SUFFIXES) for n in os.listdir(source))
    if source.lower().endswith(VIDEO_SUFFIXES):
        cap = cv2.VideoCapture(source)
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        cap.release()
        return n
    return 1


def boxes_by_image(bbox_file: str,
                   score_thr: float = 0.0) -> Dict[int, np.ndarray]:
    """Person boxes of a detection-result file, by image id.

    Args:
        bbox_file (str): COCO results layout (``image_id``, ``bbox`` xywh,
            ``score``, ``category_id``).
        score_thr (float): Minimum score. Defaults to 0.0.

    Returns:
        dict: ``image_id -> (M, 4)`` xyxy boxes.
    """
    from mmengine.fileio import load
    out: Dict[int, List] = {}
    for det in load(bbox_file):
        if det.get('category_id', 1) != 1 or det['score'] < score_thr:
            continue
        x, y, w, h = det['bbox'][:4]
        if w > 0 and h > 0:
            out.setdefault(det['image_id'], []).append([x, y, x + w, y + h])
    return {k: np.array(v, np.float32) for k, v in out.items()}


def crop_of(img: np.ndarray, center: np.ndarray, scale: np.ndarray,
            input_size: Tuple[int, int]) -> np.ndarray:
    """The model's input crop, as mmpose's ``TopdownAffine`` makes it.

    Args:
        img (np.ndarray): Image in shape (H, W, 3).
        center (np.ndarray): Box centre (2, ).
        scale (np.ndarray): Box scale (w, h) after aspect-ratio fixing, (2, ).
        input_size (tuple): ``(w, h)`` of the model input.

    Returns:
        np.ndarray: The crop in shape (h, w, 3).
    """
    from mmpose.structures.bbox import get_warp_matrix
    warp = get_warp_matrix(center, scale, 0, output_size=input_size)
    return cv2.warpAffine(
        img, warp, tuple(int(v) for v in input_size), flags=cv2.INTER_LINEAR)


def draw_simdr_distributions(crop: np.ndarray, x_probs: np.ndarray,
                             y_probs: np.ndarray,
                             keypoint_ids: Sequence[int],
                             names: Sequence[str],
                             out_file: str) -> None:
    """Save the crop with the x distributions below and y at the right.

    Args:
        crop (np.ndarray): BGR crop in shape (h, w, 3).
        x_probs (np.ndarray): Softmax over x bins, shape (K, Wx).
        y_probs (np.ndarray): Softmax over y bins, shape (K, Wy).
        keypoint_ids (Sequence[int]): Keypoints to draw.
        names (Sequence[str]): Keypoint names, indexed by id.
        out_file (str): PNG file to write.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

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
        line, = ax_x.plot(xs, x_probs[k], label=label)
        ax_y.plot(y_probs[k], ys, color=line.get_color())
        ax_img.plot(xs[x_probs[k].argmax()], ys[y_probs[k].argmax()], 'o',
                    color=line.get_color(), markersize=5)
    ax_x.set_xlabel('x (input px)')
    ax_x.set_ylabel('p')
    ax_y.set_xlabel('p')
    ax_x.legend(fontsize=7, loc='upper right')
    fig.tight_layout()
    fig.savefig(out_file, dpi=100)
    plt.close(fig)


def run_demo(pose_config: str,
             pose_checkpoint: Optional[str],
             source: str,
             out_dir: str,
             det_config: Optional[str] = None,
             det_checkpoint: Optional[str] = None,
             bbox_file: Optional[str] = None,
             det_score_thr: float = 0.3,
             kpt_thr: float = 0.3,
             simdr_keypoints: Sequence[int] = (0, 9, 10),
             device: str = 'cpu') -> List[str]:
    """Run top-down pose estimation and save pictures.

    Boxes come from an mmdet detector (``det_config``), from a detection
    file (``bbox_file``, matched by the numeric file name as COCO image id),
    or, with neither, the whole picture is one box.

    Args:
        pose_config (str): simdr_ext (or mmpose) pose config.
        pose_checkpoint (str, optional): Its checkpoint.
        source (str): Image file, folder or video.
        out_dir (str): Where the PNGs go.
        det_config (str, optional): mmdet config. Defaults to ``None``.
        det_checkpoint (str, optional): mmdet checkpoint. Defaults to
            ``None``.
        bbox_file (str, optional): Detection results. Defaults to ``None``.
        det_score_thr (float): Minimum box score. Defaults to 0.3.
        kpt_thr (float): Minimum keypoint score to draw. Defaults to 0.3.
        simdr_keypoints (Sequence[int]): Keypoints whose 1D distributions
            are drawn for SimDR models. Defaults to nose and wrists.
        device (str): Device. Defaults to ``'cpu'``.

    Returns:
        list[str]: The files written.
    """
    from mmengine.utils import ProgressBar

    from mmpose.apis import inference_topdown, init_model
    from mmpose.registry import VISUALIZERS
    from mmpose.structures import merge_data_samples

    model = init_model(
        pose_config,
        pose_checkpoint,
        device=device,
        cfg_options=dict(model=dict(test_cfg=dict(output_heatmaps=True))))
    visualizer = VISUALIZERS.build(model.cfg.visualizer)
    visualizer.set_dataset_meta(model.dataset_meta)
    names = [model.dataset_meta['keypoint_id2name'][i]
             for i in range(model.dataset_meta['num_keypoints'])]
    input_size = tuple(model.cfg.codec['input_size'])
    detector = person = None
    if det_config is not None:
        from mmdet.apis import inference_detector, init_detector

        from .detection import person_label
        detector = init_detector(det_config, det_checkpoint, device=device)
        person = person_label(detector.dataset_meta.get('classes'))
    file_boxes = boxes_by_image(bbox_file, det_score_thr) if bbox_file \
        else None

    os.makedirs(out_dir, exist_ok=True)
    written: List[str] = []
    progress = ProgressBar(count_frames(source))
    for name, img in iter_frames(source):
        if detector is not None:
            pred = inference_detector(detector, img).pred_instances.cpu()
            keep = (pred.labels.numpy() == person) & (
                pred.scores.numpy() >= det_score_thr)
            bboxes = pred.bboxes.numpy()[keep]
        elif file_boxes is not None:
            image_id = int(name) if name.isdigit() else None
            bboxes = file_boxes.get(image_id, np.zeros((0, 4), np.float32))
        else:
            bboxes = None  # whole picture
        samples = inference_topdown(model, img, bboxes)
        out_file = osp.join(out_dir, f'{name}.png')
        if samples:
            merged = merge_data_samples(samples)
            visualizer.add_datasample(
                name, img[..., ::-1], merged, draw_gt=False,
                draw_heatmap=False, kpt_thr=kpt_thr, show=False,
                out_file=out_file)
            written.append(out_file)
        else:
            cv2.imwrite(out_file, img)
            written.append(out_file)
        for i, sample in enumerate(samples):
            inst = sample.pred_instances
            if 'keypoint_x_labels' not in inst:
                continue  # not a SimDR model
            # the centre and scale TopdownAffine used for this crop
            crop = crop_of(img, sample.metainfo['input_center'],
                           sample.metainfo['input_scale'], input_size)
            dist_file = osp.join(out_dir, f'{name}_simdr_{i}.png')
            draw_simdr_distributions(crop, inst.keypoint_x_labels[0],
                                     inst.keypoint_y_labels[0],
                                     simdr_keypoints, names, dist_file)
            written.append(dist_file)
        progress.update()
    return written
