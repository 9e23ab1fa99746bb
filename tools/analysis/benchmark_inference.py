# Copyright (c) simdr_ext contributors. All rights reserved.
"""Top-down inference speed: mmpose's paths, the batched API, the ONNX
runtime and the forward-pass floor, then SimDR vs heatmap + DARK.

Every path runs on the same images and boxes (the bundled COCO people,
replicated to ``--num-crops``), interleaved in one run; the first table
gives crops/s and the ratios to mmpose's ``inference_topdown`` and to the
forward pass alone at the same batch size; the second compares SimDR
upsample-free ResNet-50 with heatmap ResNet-50 + DARK end to end through
the batched API. Each goal is printed as met or NOT met::

    python tools/analysis/benchmark_inference.py --threads 2

CPU by default when no GPU is present; ``--device cuda --fp16`` on a GPU.
"""
import argparse

from simdr_ext.analysis.inference_benchmark import (DEFAULT_CONFIG,
                                                    benchmark_paths,
                                                    benchmark_representations,
                                                    format_goals,
                                                    format_paths,
                                                    format_representations)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default=DEFAULT_CONFIG,
                        help='model of the paths table (random weights)')
    parser.add_argument('--num-crops', type=int, default=36)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--rounds', type=int, default=2)
    parser.add_argument('--device', default=None)
    parser.add_argument('--fp16', action='store_true',
                        help='also time CUDA autocast (GPU only)')
    parser.add_argument('--sizes', nargs='*',
                        default=['64x64', '128x128', '256x192'],
                        help='sizes of the SimDR vs heatmap table (none: '
                        'skip it)')
    args = parser.parse_args(argv)
    if args.num_crops < 1 or args.threads < 1 or args.rounds < 1:
        parser.error('--num-crops, --threads and --rounds must be >= 1')
    paths = benchmark_paths(args.config, args.num_crops, args.threads,
                            args.device, args.rounds, fp16=args.fp16)
    print(f'# Top-down inference paths: {paths["config"]}\n')
    print(f'{paths["crops"]} crops per pass over 4 images, flip test '
          f'{paths["flip_test"]}, {paths["rounds"]} interleaved rounds, '
          f'{paths["threads"]} thread(s), device {paths["device"]}, '
          f'{paths["load"]} (at the end)\n')
    print(format_paths(paths))
    print()
    print(format_goals(paths['goals']))
    if args.sizes:
        reps = benchmark_representations(args.sizes, args.num_crops,
                                         args.threads, args.device,
                                         args.rounds)
        print('\n# SimDR upsample-free vs heatmap + DARK, batched API, '
              f'B = {reps["batch_size"]}, {reps["crops"]} crops, flip test '
              f'as the configs, {reps["load"]} (at the end)\n')
        print(format_representations(reps))
        print()
        print(format_goals(reps['goals']))


if __name__ == '__main__':
    main()
