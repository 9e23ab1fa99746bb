# Copyright (c) simdr_ext contributors. All rights reserved.
"""Images → person boxes → simdr_ext pose model → pictures.

Used by ``demo/topdown_demo.py``. The model is built by mmpose's
``init_model`` and run by the batched top-down API
(:class:`simdr_ext.apis.inference.BatchedTopdownInferencer`: every box of a
picture in one batch, decoded on the model's device); pictures are drawn by
mmpose's visualiser, and simdr_ext adds the picture of SimDR's 1D x/y
distributions beside the crop.
"""
import os
import os.path as osp
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from simdr_runtime.crops import box_center_scale, read_image, warp_matrices
from .detection import IMAGE_SUFFIXES, boxes_by_image

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
        yield osp.splitext(osp.basename(path))[0], read_image(path)


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


def crop_of(img: np.ndarray, box: np.ndarray, input_size: Tuple[int, int],
            padding: float = 1.25, use_udp: bool = False) -> np.ndarray:
    """The model's input crop of one xyxy box, as ``TopdownAffine`` makes it.

    Args:
        img (np.ndarray): Image in shape (H, W, 3).
        box (np.ndarray): The box ``(x1, y1, x2, y2)``, shape (4, ).
        input_size (tuple): ``(w, h)`` of the model input.
        padding (float): Box enlargement. Defaults to 1.25.
        use_udp (bool): UDP warp. Defaults to ``False``.

    Returns:
        np.ndarray: The crop in shape (h, w, 3).
    """
    center, scale = box_center_scale(
        np.asarray(box, np.float32).reshape(1, 4), input_size, padding)
    warp = warp_matrices(center, scale, input_size, use_udp)[0]
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


def load_pose_model(pose_config: str, pose_checkpoint: Optional[str],
                    device: str = 'cpu'):
    """The pose model of a config and checkpoint, by mmpose's
    ``init_model``."""
    from mmpose.apis import init_model

    from ..engine import load_checked_checkpoint
    model = init_model(pose_config, None, device=device)
    load_checked_checkpoint(model, pose_checkpoint)
    return model


def to_data_sample(result: Dict, img_shape: Tuple[int, int]):
    """One picture's results as a ``PoseDataSample`` for the visualiser."""
    from mmengine.structures import InstanceData

    from mmpose.structures import PoseDataSample
    sample = PoseDataSample(metainfo=dict(img_shape=img_shape))
    sample.pred_instances = InstanceData(
        keypoints=result['keypoints'],
        keypoint_scores=result['keypoint_scores'],
        bboxes=result['bboxes'],
        bbox_scores=np.ones(len(result['bboxes']), np.float32))
    return sample


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
             device: str = 'cpu',
             batch_size: int = 16,
             log=print) -> List[str]:
    """Run top-down pose estimation and save pictures.

    Boxes come from an mmdet detector (``det_config``), from a detection
    file (``bbox_file``, matched by the numeric file name as COCO image id),
    or, with neither, the whole picture is one box. A picture in which the
    detector or the file has no person is saved without any pose, and
    ``log`` says so.

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
        batch_size (int): Crops per forward pass. Defaults to 16.
        log (callable): Where messages go. Defaults to ``print``.

    Returns:
        list[str]: The files written.
    """
    from mmengine.utils import ProgressBar

    from mmpose.registry import VISUALIZERS

    from .inference import BatchedTopdownInferencer

    model = load_pose_model(pose_config, pose_checkpoint, device)
    inferencer = BatchedTopdownInferencer(model, batch_size=batch_size)
    decoder = getattr(model.head, 'decoder', None)
    # SimDR (simdr_ext) and SimCC (mmpose) heads output x/y vectors
    with_dists = hasattr(decoder, 'num_bins') or hasattr(
        decoder, 'simcc_split_ratio')
    visualizer = VISUALIZERS.build(model.cfg.visualizer)
    visualizer.set_dataset_meta(model.dataset_meta)
    names = [model.dataset_meta['keypoint_id2name'][i]
             for i in range(model.dataset_meta['num_keypoints'])]
    geometry = inferencer.geometry
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
        h, w = img.shape[:2]
        if detector is not None:
            pred = inference_detector(detector, img).pred_instances.cpu()
            keep = (pred.labels.numpy() == person) & (
                pred.scores.numpy() >= det_score_thr)
            bboxes = pred.bboxes.numpy()[keep]
        elif file_boxes is not None:
            image_id = int(name) if name.isdigit() else None
            bboxes = file_boxes.get(image_id, np.zeros((0, 4), np.float32))
        else:
            bboxes = np.array([[0, 0, w, h]], np.float32)  # whole picture
        out_file = osp.join(out_dir, f'{name}.png')
        written.append(out_file)
        if len(bboxes) == 0:
            log(f'\n{name}: no person detected (score >= {det_score_thr}); '
                'saved without a pose')
            cv2.imwrite(out_file, img)
            progress.update()
            continue
        result = inferencer(img, bboxes, return_distributions=with_dists)[0]
        visualizer.add_datasample(
            name, img[..., ::-1], to_data_sample(result, (h, w)),
            draw_gt=False, draw_heatmap=False, kpt_thr=kpt_thr, show=False,
            out_file=out_file)
        if with_dists:
            for i, box in enumerate(result['bboxes']):
                crop = crop_of(img, box, geometry.input_size,
                               geometry.padding, geometry.use_udp)
                dist_file = osp.join(out_dir, f'{name}_simdr_{i}.png')
                draw_simdr_distributions(crop, result['simcc_x'][i],
                                         result['simcc_y'][i],
                                         simdr_keypoints, names, dist_file)
                written.append(dist_file)
        progress.update()
    return written
