# Copyright (c) simdr_ext contributors. All rights reserved.
"""Inference speed, side by side: SimDR Table 4's method and end to end.

Default: heatmap ResNet-50 with DARK decoding against SimDR ResNet-50
upsample-free at 64x64, 128x128 and 256x192, then mmpose's SimCC ResNet-50
against simdr_ext's SimDR ResNet-50 of the same architecture::

    python tools/analysis/benchmark_inference.py --num-crops 300 --threads 2

``x`` columns: time of the group's first model / time of this one (> 1 is
faster). CPU by default; ``--device cuda`` on a GPU machine.
"""
import argparse

from simdr_ext.analysis.inference_benchmark import (benchmark, format_table,
                                                    paper_table4_entries)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--num-crops', type=int, default=300)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--device', default=None)
    parser.add_argument('--sizes', nargs='+',
                        default=['64x64', '128x128', '256x192'])
    parser.add_argument('--configs', nargs='+',
                        help='time these configs instead (one group)')
    args = parser.parse_args(argv)
    if args.configs:
        entries = [dict(config=c, name=c.split('/')[-1], group='configs')
                   for c in args.configs]
    else:
        entries = paper_table4_entries(args.sizes)
    rows = benchmark(entries, args.num_crops, args.threads, args.device)
    print(f'# Inference benchmark: batch 1, {args.num_crops} crops per '
          f'measurement, {rows[0]["threads"]} thread(s), '
          f'device {rows[0]["device"]}\n')
    print(format_table(rows))


if __name__ == '__main__':
    main()
