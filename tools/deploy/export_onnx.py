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
import sys

import simdr_ext  # noqa: F401  (registers the modules)
from simdr_ext.deploy.onnx_export import PRECISIONS, export_and_check


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
