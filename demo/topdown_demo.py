# Copyright (c) simdr_ext contributors. All rights reserved.
"""Top-down pose estimation on images, a folder or a video.

Examples::

    # boxes from an mmdet detector
    python demo/topdown_demo.py POSE_CONFIG POSE_CKPT \\
        --input tests/data/coco --det-config DET_CONFIG \\
        --det-checkpoint DET_CKPT --out-dir vis
    # boxes from a detection-result file (COCO image ids = file names)
    python demo/topdown_demo.py POSE_CONFIG POSE_CKPT \\
        --input tests/data/coco --out-dir vis \\
        --bbox-file tests/data/coco/test_coco_det_AP_H_56.json

Boxes come from an mmdet detector (``--det-config``), from a detection file
(``--bbox-file``, read by :func:`simdr_ext.datasets.read_detections`, JSON
only, and matched by the numeric file name as COCO image id) or, with
neither, the whole picture is one box. The pose model is built by mmpose's
``init_model``, its checkpoint read by
:func:`simdr_ext.engine.load_checked_checkpoint`, and run by mmpose's
``inference_topdown``. It writes ``<name>.png`` with the skeletons (mmpose's
visualiser) and, for SimDR models, ``<name>_simdr_<i>.png`` with the crop and
the 1D x/y distributions of the keypoints given by ``--simdr-keypoints``. A
picture without any detected person is saved as it is, and the demo says
so. An unreadable input stops with a one-line error naming it.
"""
import argparse
import os
import os.path as osp
import sys
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import cv2
import numpy as np

import simdr_ext  # noqa: F401  (registers the modules)
from simdr_ext.datasets import read_detections
from simdr_ext.deploy import crop_geometry
from simdr_ext.engine import load_checked_checkpoint
from simdr_runtime.crops import box_center_scale, read_image, warp_matrices

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.webp')
VIDEO_SUFFIXES = ('.mp4', '.avi', '.mov', '.mkv')


def list_frames(source: str) -> Tuple[List[str], bool]:
    """The image files of ``source`` (one file, or a folder's images sorted
    by name), or ``[source]`` and ``True`` for a video."""
    if osp.isdir(source):
        return sorted(
            osp.join(source, n) for n in os.listdir(source)
            if n.lower().endswith(IMAGE_SUFFIXES)), False
    return [source], source.lower().endswith(VIDEO_SUFFIXES)


def iter_frames(source: str) -> Iterator[Tuple[str, np.ndarray]]:
    """Yield ``(name, BGR image (H, W, 3))`` of an image file, a folder or a
    video; the name is the file stem, or ``<video>_<frame>``."""
    paths, video = list_frames(source)
    if not video:
        for path in paths:
            yield osp.splitext(osp.basename(path))[0], read_image(path)
        return
    cap = cv2.VideoCapture(source)
    if not cap.isOpened():
        raise FileNotFoundError(f'cannot open video {source}')
    stem, index = osp.splitext(osp.basename(source))[0], 0
    ok, frame = cap.read()
    while ok:
        yield f'{stem}_{index:06d}', frame
        index += 1
        ok, frame = cap.read()
    cap.release()


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
        dict: ``image_id -> (M, 4)`` xyxy boxes (float32).
    """
    out: Dict[int, List] = {}
    for det in read_detections(bbox_file):
        if det['score'] >= score_thr:
            x, y, w, h = det['bbox']
            out.setdefault(det['image_id'], []).append([x, y, x + w, y + h])
    return {k: np.array(v, np.float32) for k, v in out.items()}


def box_source(det_config: Optional[str], det_checkpoint: Optional[str],
               det_cat_id: int, bbox_file: Optional[str], score_thr: float,
               device: str) -> Callable[[str, np.ndarray], np.ndarray]:
    """``boxes(name, image) -> (M, 4)`` xyxy person boxes, from the
    detector (class ``det_cat_id``), the detection file or the whole
    picture; boxes with a score below ``score_thr`` are left out."""
    if det_config is not None:
        from mmdet.apis import inference_detector, init_detector
        detector = init_detector(det_config, det_checkpoint, device=device)

        def detect(name: str, img: np.ndarray) -> np.ndarray:
            pred = inference_detector(detector, img).pred_instances.cpu()
            keep = (pred.labels.numpy() == det_cat_id) & (
                pred.scores.numpy() >= score_thr)
            return pred.bboxes.numpy()[keep]

        return detect
    if bbox_file is not None:
        by_id = boxes_by_image(bbox_file, score_thr)
        return lambda name, img: by_id.get(
            int(name) if name.isdigit() else None, np.zeros((0, 4)))
    return lambda name, img: np.array([[0, 0, img.shape[1], img.shape[0]]], np.
                                      float32)


def crop_of(img: np.ndarray, box: np.ndarray, geometry) -> np.ndarray:
    """The model's input crop (h, w, 3) of one xyxy box (4, ), as
    ``TopdownAffine`` makes it with the config's ``geometry``
    (:func:`simdr_ext.deploy.crop_geometry`)."""
    size = geometry.input_size
    center, scale = box_center_scale(
        np.asarray(box, np.float32).reshape(1, 4), size, geometry.padding)
    warp = warp_matrices(center, scale, size, geometry.use_udp)[0]
    return cv2.warpAffine(
        img, warp, tuple(int(v) for v in size), flags=cv2.INTER_LINEAR)


def draw_simdr_distributions(crop: np.ndarray, x_probs: np.ndarray,
                             y_probs: np.ndarray, keypoint_ids: Sequence[int],
                             names: Sequence[str], out_file: str) -> None:
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
        ax_img.plot(
            xs[x_probs[k].argmax()],
            ys[y_probs[k].argmax()],
            'o',
            color=line.get_color(),
            markersize=5)
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
             det_cat_id: int = 0,
             bbox_file: Optional[str] = None,
             det_score_thr: float = 0.3,
             kpt_thr: float = 0.3,
             simdr_keypoints: Sequence[int] = (0, 9, 10),
             device: str = 'cpu',
             log: Callable[[str], None] = print) -> List[str]:
    """Estimate poses in every picture of ``source`` and save them.

    Args:
        pose_config (str): simdr_ext (or mmpose) pose config.
        pose_checkpoint (str, optional): Its checkpoint.
        source (str): Image file, folder or video.
        out_dir (str): Where the PNGs go.
        det_config (str, optional): mmdet config. Defaults to ``None``.
        det_checkpoint (str, optional): mmdet checkpoint. Defaults to
            ``None``.
        det_cat_id (int): The detector's person class. Defaults to 0.
        bbox_file (str, optional): Detection results. Defaults to ``None``.
        det_score_thr (float): Minimum box score. Defaults to 0.3.
        kpt_thr (float): Minimum keypoint score to draw. Defaults to 0.3.
        simdr_keypoints (Sequence[int]): Keypoints whose 1D distributions
            are drawn for SimDR models. Defaults to nose and wrists.
        device (str): Device. Defaults to ``'cpu'``.
        log (callable): Where messages go. Defaults to ``print``.

    Returns:
        list[str]: The files written.
    """
    from mmengine.utils import ProgressBar

    from mmpose.apis import inference_topdown, init_model
    from mmpose.registry import VISUALIZERS
    from mmpose.structures import merge_data_samples

    model = init_model(pose_config, None, device=device)
    load_checked_checkpoint(model, pose_checkpoint)
    # SimDR heads put the 1D softmax distributions (keypoint_x_probs /
    # keypoint_y_probs) beside the keypoints when asked for their outputs
    with_dists = hasattr(getattr(model.head, 'decoder', None), 'split_ratio')
    model.test_cfg['output_heatmaps'] = with_dists
    geometry = crop_geometry(model.cfg)
    visualizer = VISUALIZERS.build(model.cfg.visualizer)
    visualizer.set_dataset_meta(model.dataset_meta)
    meta = model.dataset_meta
    names = [meta['keypoint_id2name'][i] for i in range(meta['num_keypoints'])]
    boxes_of = box_source(det_config, det_checkpoint, det_cat_id, bbox_file,
                          det_score_thr, device)
    os.makedirs(out_dir, exist_ok=True)
    written: List[str] = []
    paths, video = list_frames(source)
    progress = ProgressBar(
        int(cv2.VideoCapture(source).get(cv2.CAP_PROP_FRAME_COUNT)
            ) if video else len(paths))
    for name, img in iter_frames(source):
        out_file = osp.join(out_dir, f'{name}.png')
        written.append(out_file)
        bboxes = boxes_of(name, img)
        progress.update()
        if len(bboxes) == 0:
            log(f'\n{name}: no person detected (score >= '
                f'{det_score_thr}); saved without a pose')
            cv2.imwrite(out_file, img)
            continue
        sample = merge_data_samples(inference_topdown(model, img, bboxes))
        visualizer.add_datasample(
            name,
            img[..., ::-1],
            sample,
            draw_gt=False,
            draw_heatmap=False,
            kpt_thr=kpt_thr,
            show=False,
            out_file=out_file)
        if not with_dists:
            continue
        pred = sample.pred_instances
        for i, box in enumerate(bboxes):
            dist_file = osp.join(out_dir, f'{name}_simdr_{i}.png')
            draw_simdr_distributions(
                crop_of(img, box, geometry), pred.keypoint_x_probs[i],
                pred.keypoint_y_probs[i], simdr_keypoints, names, dist_file)
            written.append(dist_file)
    return written


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('pose_config')
    parser.add_argument('pose_checkpoint')
    parser.add_argument(
        '--input', required=True, help='image file, image folder or video')
    parser.add_argument('--out-dir', default='vis_results')
    parser.add_argument('--det-config')
    parser.add_argument('--det-checkpoint')
    parser.add_argument(
        '--det-cat-id',
        type=int,
        default=0,
        help="the detector's person class (0 for COCO detectors)")
    parser.add_argument('--bbox-file', help='detection results (COCO layout)')
    parser.add_argument('--det-score-thr', type=float, default=0.3)
    parser.add_argument('--kpt-thr', type=float, default=0.3)
    parser.add_argument(
        '--simdr-keypoints',
        type=int,
        nargs='+',
        default=[0, 9, 10],
        help='keypoint ids to plot')
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args(argv)
    if not np.isfinite(args.det_score_thr):
        parser.error(f'--det-score-thr must be a finite number, got '
                     f'{args.det_score_thr}')
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    try:
        files = run_demo(args.pose_config, args.pose_checkpoint, args.input,
                         args.out_dir, args.det_config, args.det_checkpoint,
                         args.det_cat_id, args.bbox_file, args.det_score_thr,
                         args.kpt_thr, args.simdr_keypoints, args.device)
    except (FileNotFoundError, ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    print(f'\nwrote {len(files)} pictures to {args.out_dir}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
