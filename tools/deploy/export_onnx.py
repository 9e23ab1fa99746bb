# Copyright (c) simdr_ext contributors. All rights reserved.
"""Export a simdr_ext model to ONNX with its decoder in the graph.

Inputs: image crops (B, 3, h, w), BGR float 0-255 as ``TopdownAffine``
makes them; outputs: ``keypoints`` (B, K, 2) in crop pixels and ``scores``
(B, K) (SimDR models also ``simcc_x``/``simcc_y``, the 1D distributions).
The crop geometry (input size, box padding, UDP) and the flip-test setting
are stored as metadata, so ``simdr_runtime.OnnxPoseRuntime`` runs the file
with numpy, OpenCV and onnxruntime only. The export is checked with
onnxruntime against PyTorch on real crops of the given annotation file, and
the largest difference printed::

    python tools/deploy/export_onnx.py CONFIG CHECKPOINT --out model.onnx \\
        --images tests/data/coco --ann-file tests/data/coco/test_coco.json

``--flip-test config`` puts the config's flip test inside the graph;
``--precision fp16`` runs the network in float16 and decodes in float32.
"""
import argparse
import os.path as osp
import sys
from typing import Dict, Optional, Tuple

import numpy as np
import torch
from torch import nn

import simdr_ext  # noqa: F401  (registers the modules)
from simdr_ext.deploy import PRECISIONS, DecodedPoseModel, export_onnx
from simdr_ext.engine import load_checked_checkpoint


def check_max_crops(max_crops) -> int:
    if int(max_crops) != max_crops or max_crops < 1:
        raise ValueError(f'max_crops must be a positive integer (crops to '
                         f'compare), got {max_crops!r}')
    return int(max_crops)


def real_crops(cfg, image_folder: str, ann_file: str,
               max_crops: int = 8) -> np.ndarray:
    """Float32 crops (N, 3, h, w), BGR 0-255, of the people annotated in a
    COCO-format ``ann_file``, made by the config's test pipeline (at most
    ``max_crops`` >= 1)."""
    from mmpose.registry import DATASETS
    max_crops = check_max_crops(max_crops)
    codec = cfg.test_dataloader.dataset.get('codec')
    dataset = DATASETS.build(dict(
        type='CheckedCocoDataset', data_root='', ann_file=ann_file,
        data_mode='topdown', data_prefix=dict(img=image_folder),
        test_mode=True, pipeline=cfg.test_dataloader.dataset.pipeline,
        **(dict(codec=codec) if codec else {})))
    if len(dataset) == 0:
        raise ValueError(f'{ann_file} has no person to crop')
    return np.stack([dataset[i]['inputs'].float().numpy()
                     for i in range(min(max_crops, len(dataset)))])


def run_onnx(onnx_file: str,
             crops: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Keypoints (N, K, 2) and scores (N, K) of float32 crops
    (N, 3, h, w) by onnxruntime on the CPU."""
    import onnxruntime as ort
    session = ort.InferenceSession(onnx_file,
                                   providers=['CPUExecutionProvider'])
    keypoints, scores = session.run(['keypoints', 'scores'],
                                    {'crops': crops})
    return keypoints, scores


def compare_with_onnxruntime(wrapper: DecodedPoseModel, onnx_file: str,
                             crops: np.ndarray) -> Dict[str, float]:
    """``max_abs_keypoints`` (crop px) and ``max_abs_scores`` between
    onnxruntime and the exported PyTorch wrapper on crops (N, 3, h, w)."""
    keypoints, scores = run_onnx(onnx_file, crops)
    with torch.no_grad():
        ref_keypoints, ref_scores = wrapper(torch.from_numpy(crops))[:2]
    return dict(
        max_abs_keypoints=float(np.abs(keypoints - ref_keypoints.numpy())
                                .max()),
        max_abs_scores=float(np.abs(scores - ref_scores.numpy()).max()))


def load_pose_model(config: str, checkpoint: Optional[str],
                    device: str = 'cpu') -> nn.Module:
    """mmpose's ``init_model`` of a config, then the checked load of a
    checkpoint (``None``: initial weights)."""
    from mmpose.apis import init_model
    model = init_model(config, None, device=device)
    load_checked_checkpoint(model, checkpoint)
    return model


def export_and_check(config: str, checkpoint: Optional[str], out_file: str,
                     image_folder: str, ann_file: str, max_crops: int = 8,
                     flip_test: Optional[bool] = False,
                     precision: str = 'fp32') -> Dict[str, float]:
    """Build a model, export it and compare onnxruntime with PyTorch on
    real crops (:func:`real_crops`).

    Args:
        config (str): Model config.
        checkpoint (str, optional): Checkpoint; ``None`` keeps the initial
            weights.
        out_file (str): The ``.onnx`` file.
        image_folder (str): Folder of the images.
        ann_file (str): COCO-format annotation file.
        max_crops (int): Crops compared (>= 1). Defaults to 8.
        flip_test (bool, optional): Flip test in the graph; ``None``
            follows the config. Defaults to ``False``.
        precision (str): One of ``PRECISIONS``. Defaults to ``'fp32'``.

    Returns:
        dict: :func:`compare_with_onnxruntime`'s differences and
        ``num_crops``.
    """
    check_max_crops(max_crops)
    model = load_pose_model(config, checkpoint)
    crops = real_crops(model.cfg, image_folder, ann_file, max_crops)
    wrapper = export_onnx(model, out_file, flip_test=flip_test,
                          precision=precision)
    result = compare_with_onnxruntime(wrapper, out_file, crops)
    result['num_crops'] = len(crops)
    return result


def half_precision_parity(model: nn.Module, crops: np.ndarray, folder: str,
                          tolerance: float = 0.25,
                          flip_test: Optional[bool] = None) -> Dict:
    """How often float16 inference lands within ``tolerance`` input pixels
    of float32: for the fp16 export (network in float16, decoding in
    float32) and for a naive all-float16 graph.

    Each graph runs in onnxruntime on the CPU; where onnxruntime has no CPU
    kernel for a float16 operator, the same wrapper runs in PyTorch (CPU
    float16) and ``backend`` says so.

    Args:
        model (nn.Module): The pose model (CPU, float32).
        crops (np.ndarray): Float32 crops (N, 3, h, w), BGR 0-255.
        folder (str): Where the ``.onnx`` files go.
        tolerance (float): Input pixels. Defaults to 0.25.
        flip_test (bool, optional): ``None`` follows the config.

    Returns:
        dict: Per precision ``fp16`` / ``fp16-naive`` the fraction of the
        ``num_keypoints`` (N x K) within tolerance, ``max_px_<precision>``,
        ``max_score_diff_<precision>``; ``backend`` per precision.
    """
    keypoints, scores, backend = {}, {}, {}
    for precision in PRECISIONS:
        out_file = osp.join(folder, f'{precision}.onnx')
        wrapper = export_onnx(model, out_file, flip_test=flip_test,
                              precision=precision, distributions=False)
        try:
            keypoints[precision], scores[precision] = run_onnx(
                out_file, crops)
            backend[precision] = 'onnxruntime CPU'
        except Exception as err:  # no float16 CPU kernel for an operator
            if 'NOT_IMPLEMENTED' not in str(err) and \
                    'Could not find an implementation' not in str(err):
                raise
            with torch.no_grad():
                out = wrapper(torch.from_numpy(crops))
            keypoints[precision], scores[precision] = (out[0].numpy(),
                                                       out[1].numpy())
            backend[precision] = 'PyTorch CPU (onnxruntime CPU has no ' \
                'float16 kernel for an operator of this graph)'
    ref = keypoints['fp32']
    result: Dict = dict(num_keypoints=int(ref.shape[0] * ref.shape[1]),
                        backend=backend, tolerance=tolerance)
    for precision in PRECISIONS[1:]:
        dist = np.linalg.norm(keypoints[precision] - ref, axis=-1)
        result[precision] = float(np.mean(dist <= tolerance))
        result[f'max_px_{precision}'] = float(dist.max())
        result[f'max_score_diff_{precision}'] = float(
            np.abs(scores[precision] - scores['fp32']).max())
    return result


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'{text!r} is not an integer')
    if value < 1:
        raise argparse.ArgumentTypeError(
            f'{value} crops: at least 1 crop is needed for the check')
    return value


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint', help='checkpoint, or "none"')
    parser.add_argument('--out', required=True, help='.onnx file')
    parser.add_argument('--images', default='tests/data/coco')
    parser.add_argument('--ann-file', default='tests/data/coco/test_coco.json')
    parser.add_argument('--max-crops', type=positive_int, default=8,
                        help='real crops compared with PyTorch (>= 1)')
    parser.add_argument('--flip-test', choices=['off', 'on', 'config'],
                        default='off',
                        help='flip test inside the graph (config: as '
                        'model.test_cfg.flip_test)')
    parser.add_argument('--precision', choices=PRECISIONS, default='fp32')
    parser.add_argument('--atol', type=float, default=1e-3,
                        help='largest keypoint difference (crop px) accepted')
    args = parser.parse_args(argv)
    ckpt = None if args.checkpoint.lower() == 'none' else args.checkpoint
    flip = dict(off=False, on=True, config=None)[args.flip_test]
    result = export_and_check(args.config, ckpt, args.out, args.images,
                              args.ann_file, args.max_crops, flip,
                              args.precision)
    print(f'exported {args.out}; onnxruntime vs PyTorch on '
          f'{result["num_crops"]} real crops: max |keypoints| difference '
          f'{result["max_abs_keypoints"]:.3g} px, max |scores| difference '
          f'{result["max_abs_scores"]:.3g}')
    return 0 if result['max_abs_keypoints'] <= args.atol else 1


if __name__ == '__main__':
    sys.exit(main())
