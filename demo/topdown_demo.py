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

It writes ``<name>.png`` with the skeletons and, for SimDR models,
``<name>_simdr_<i>.png`` with the crop and the 1D x/y distributions of the
keypoints given by ``--simdr-keypoints``. A picture without any detected
person is saved as it is, and the demo says so. All boxes of a picture go
through the model in batches (``--batch-size``).
"""
import argparse
import sys

import simdr_ext  # noqa: F401  (registers the modules)
from simdr_ext.apis.demo import run_demo


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('pose_config')
    parser.add_argument('pose_checkpoint')
    parser.add_argument('--input', required=True,
                        help='image file, image folder or video')
    parser.add_argument('--out-dir', default='vis_results')
    parser.add_argument('--det-config')
    parser.add_argument('--det-checkpoint')
    parser.add_argument('--bbox-file', help='detection results (COCO layout)')
    parser.add_argument('--det-score-thr', type=float, default=0.3)
    parser.add_argument('--kpt-thr', type=float, default=0.3)
    parser.add_argument('--simdr-keypoints', type=int, nargs='+',
                        default=[0, 9, 10], help='keypoint ids to plot')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--batch-size', type=int, default=16,
                        help='crops per forward pass')
    args = parser.parse_args(argv)
    try:
        files = run_demo(args.pose_config, args.pose_checkpoint, args.input,
                         args.out_dir, args.det_config, args.det_checkpoint,
                         args.bbox_file, args.det_score_thr, args.kpt_thr,
                         args.simdr_keypoints, args.device, args.batch_size)
    except (FileNotFoundError, ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    print(f'\nwrote {len(files)} pictures to {args.out_dir}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
