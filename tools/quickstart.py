# Copyright (c) simdr_ext contributors. All rights reserved.
"""Train the quickstart config, test its checkpoint, print the COCO AP.

``python tools/quickstart.py [--work-dir DIR] [--min-ap 0.9]``: exits 1 when
the AP is below ``--min-ap``.
"""
import argparse
import os.path as osp
import sys
import time

import simdr_ext  # noqa: F401  (registers the modules)
from simdr_ext.apis.quickstart import QUICKSTART_CONFIG, run_quickstart


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--config', default=QUICKSTART_CONFIG)
    parser.add_argument('--work-dir', default='work_dirs/quickstart')
    parser.add_argument('--min-ap', type=float, default=0.9)
    args = parser.parse_args()
    start = time.time()
    result = run_quickstart(args.config, args.work_dir)
    ap = result['metrics']['coco/AP']
    print(f'\nquickstart: trained {osp.basename(args.config)} in '
          f'{result["train_seconds"]:.0f} s; checkpoint '
          f'{result["checkpoint"]}')
    print(f'quickstart: COCO keypoint AP on the bundled images = {ap:.3f} '
          f'(overfit check, goal >= {args.min_ap}); total '
          f'{time.time() - start:.0f} s')
    return 0 if ap >= args.min_ap else 1


if __name__ == '__main__':
    sys.exit(main())
