# Copyright (c) simdr_ext contributors. All rights reserved.
"""Write a person ``bbox_file`` (COCO results layout) with an mmdet detector.

Example::

    python tools/misc/generate_bbox_file.py DET_CONFIG DET_CHECKPOINT \\
        data/coco/annotations/person_keypoints_val2017.json \\
        --img-root data/coco/val2017 --out dets.json
"""
import argparse

from mmengine.config import DictAction

from simdr_ext.apis.detection import generate_bbox_file


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('det_config', help='mmdet config file')
    parser.add_argument(
        'det_checkpoint', help='mmdet checkpoint ("none": random weights)')
    parser.add_argument('source', help='image folder or COCO annotation file')
    parser.add_argument(
        '--out', required=True, help='output JSON file (a .json name)')
    parser.add_argument('--img-root', help='image folder of a COCO file')
    parser.add_argument('--score-thr', type=float, default=0.0)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    parser.add_argument('--seed', type=int,
                        help='seed torch (reproducible random weights)')
    args = parser.parse_args(argv)
    if not args.out.lower().endswith('.json'):
        parser.error(f'--out {args.out}: detection files are JSON; the '
                     'name must end with .json')
    checkpoint = None if args.det_checkpoint.lower() == 'none' \
        else args.det_checkpoint
    results = generate_bbox_file(args.det_config, checkpoint, args.source,
                                 args.out, args.img_root, args.score_thr,
                                 args.device, args.cfg_options, args.seed)
    print(f'\nwrote {len(results)} person detections to {args.out}')


if __name__ == '__main__':
    main()
