# Copyright (c) simdr_ext contributors. All rights reserved.
"""Time simdr_ext's codecs against mmpose's and check that they agree.

Example::

    python tools/analysis/benchmark_codecs.py --num-instances 1 64 \\
        --repeats 15 --sizes 64x64 128x128 256x192

Prints a markdown table (microseconds per instance at N = 1, the training
pipeline's call, and N = 64, a test batch; speed ratio mmpose / simdr_ext;
how mmpose was called; agreement), the forward pass per crop of a ResNet-50
SimDR model, the training data pipeline's samples/s with each codec, and
every goal as met or not met. Exits 1 when an agreement check fails, else
0, so it can run as a check. The work is done by
:mod:`simdr_ext.analysis.codec_benchmark`.
"""
import argparse
import sys
from typing import List, Optional, Sequence

import simdr_ext  # noqa: F401  (registers the codecs)
from simdr_ext.analysis.codec_benchmark import (DEFAULT_NUM_INSTANCES,
                                                DEFAULT_SIZES, KPT_TOL,
                                                benchmark_forward,
                                                benchmark_pipeline,
                                                check_goals, codec_pairs,
                                                parse_size, run_benchmark)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Benchmark simdr_ext codecs against mmpose codecs')
    parser.add_argument(
        '--num-instances',
        type=int,
        nargs='+',
        default=list(DEFAULT_NUM_INSTANCES),
        help='instances N per call, one or several (default: 1 64)')
    parser.add_argument(
        '--repeats',
        type=int,
        default=15,
        help='timed calls per side (the median is reported)')
    parser.add_argument(
        '--sizes',
        nargs='+',
        default=list(DEFAULT_SIZES),
        help='input sizes HxW, e.g. 256x192 (input_size w=192, h=256)')
    parser.add_argument(
        '--pairs',
        nargs='+',
        choices=['SimDRLabel', 'SASimDRLabel', 'DarkHeatmap'],
        default=None,
        help='only these simdr_ext codecs (default: all three)')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument(
        '--threads',
        type=int,
        default=1,
        help='torch / OpenCV threads while timing (0: leave as is)')
    parser.add_argument(
        '--pipeline-size',
        default='256x192',
        help='input size of the data pipeline timing (HxW)')
    parser.add_argument(
        '--pipeline-repeats',
        type=int,
        default=15,
        help='timed rounds over the bundled COCO people')
    parser.add_argument(
        '--forward-repeats',
        type=int,
        default=3,
        help='timed ResNet-50 SimDR forward calls per batch size')
    parser.add_argument(
        '--no-pipeline',
        action='store_true',
        help='skip the data pipeline timing')
    parser.add_argument(
        '--no-forward',
        action='store_true',
        help='skip the forward pass timing (the softmax-cost goal is then '
        'not measured)')
    args = parser.parse_args(argv)
    if min(args.num_instances) < 1 or args.repeats < 1 or \
            args.pipeline_repeats < 1 or args.forward_repeats < 1:
        parser.error('--num-instances and the repeats must be >= 1')
    for size in args.sizes + [args.pipeline_size]:
        try:
            parse_size(size)
        except ValueError as err:
            parser.error(str(err))
    return args


AGREE = {True: 'yes', False: 'NO', None: 'differs by design'}


def format_table(rows: Sequence[dict]) -> str:
    """Markdown table of benchmark rows.

    Args:
        rows (Sequence[dict]): Rows of
            :func:`simdr_ext.analysis.codec_benchmark.run_benchmark`.

    Returns:
        str: The table.
    """
    lines = [
        '| pair (simdr_ext / mmpose) | size | N | op | mmpose called as | '
        'µs/inst ours | µs/inst mmpose | mmpose / ours | max abs diff | '
        'agree |', '|---|---|---:|---|---|---:|---:|---:|---:|---|'
    ]
    for r in rows:
        op = r['op']
        if op != 'encode' and not r['pair'].startswith('DarkHeatmap'):
            op += ' (+softmax scores)'
        lines.append(
            f"| {r['pair']} | {r['size']} | {r['n']} | {op} | "
            f"{r['mmpose_call']} | {r['us_ours']:.1f} | "
            f"{r['us_mmpose']:.1f} | {r['ratio']:.1f}x | "
            f"{r['max_abs_diff']:.2e} {r['diff_unit']} | "
            f"{AGREE[r['agree']]} |")
    return '\n'.join(lines)


def format_forward(forward: Sequence[dict]) -> str:
    lines = ['| model (random weights) | batch | forward ms/crop |',
             '|---|---:|---:|']
    for f in forward:
        lines.append(f"| {f['config']} | {f['batch']} | "
                     f"{f['ms_per_crop']:.1f} |")
    return '\n'.join(lines)


def format_pipeline(pipeline: Sequence[dict]) -> str:
    lines = [
        '| pair (simdr_ext / mmpose) | size | samples | shared steps '
        'ms/sample | GenerateTarget + Pack µs/sample ours | ... mmpose | '
        'samples/s ours | samples/s mmpose | ours / mmpose |',
        '|---|---|---:|---:|---:|---:|---:|---:|---:|'
    ]
    for p in pipeline:
        lines.append(f"| {p['pair']} | {p['size']} | {p['samples']} | "
                     f"{p['shared_ms']:.2f} | {p['tail_us_ours']:.0f} | "
                     f"{p['tail_us_mmpose']:.0f} | {p['sps_ours']:.1f} | "
                     f"{p['sps_mmpose']:.1f} | {p['ratio']:.3f}x |")
    return '\n'.join(lines)


def format_notes(rows: Sequence[dict]) -> List[str]:
    """Per pair: where the codecs legitimately differ, and the noise-only
    (invisible) keypoints that decode differently at each size."""
    notes = []
    for r in rows:
        if r['op'] == 'encode':
            notes.append(f"- {r['pair']} ({r['size']}): {r['note']}")
            for pair in codec_pairs(parse_size(r['size'])):
                if pair.name == r['pair'] and pair.decode_differs:
                    notes.append(f"- {r['pair']} ({r['size']}), decoding: "
                                 f'{pair.decode_differs}')
        elif r['op'] == 'decode':
            notes.append(
                f"- {r['pair']} ({r['size']}, N={r['n']}), decode: "
                f"{r['compared']} "
                f"visible keypoints compared; {r['noise_only_differ']} of "
                f"{r['noise_only']} noise-only (invisible) keypoints "
                'decode differently')
    # the encode notes are the same text at every size: keep the first
    seen, unique = set(), []
    for note in notes:
        key = note.split(': ', 1)[1] if ', decode' not in note else note
        if key not in seen:
            seen.add(key)
            unique.append(note)
    return unique


def format_goals(goals: dict) -> List[str]:
    """One line per goal: MET, NOT MET or not measured, with its number."""
    lines = []
    for key in ('encode', 'dark_decode', 'dark_batch_decode', 'pipeline'):
        g = goals[key]
        if g['met'] is None:
            lines.append(f"- {g['text']}: not measured")
            continue
        lines.append(f"- {g['text']}: {'MET' if g['met'] else 'NOT MET'} "
                     f"(lowest ratio {min(g['value']):.2f}x)")
    g = goals['score_cost']
    if g['met'] is None:
        lines.append(f"- {g['text']}: not measured")
    else:
        lines.append(
            f"- {g['text']}: {'MET' if g['met'] else 'NOT MET'} (largest "
            f"extra {g['extra_us']:.1f} µs/crop = {g['value']:.4%} of a "
            f"{g['forward_us'] / 1e3:.1f} ms/crop forward)")
    g = goals['agreement']
    worst = max(g['value']) if g['value'] else 0.0
    lines.append(f"- {g['text']}: {'MET' if g['met'] else 'NOT MET'} "
                 f'(largest keypoint difference {worst:.2e} px, '
                 f'tolerance {KPT_TOL:g} px)')
    return lines


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    threads = args.threads or None
    rows = run_benchmark(
        sizes=args.sizes,
        num_instances=args.num_instances,
        repeats=args.repeats,
        seed=args.seed,
        pairs=args.pairs,
        threads=threads)
    forward = None if args.no_forward else benchmark_forward(
        repeats=args.forward_repeats, threads=threads)
    pipeline = None if args.no_pipeline else benchmark_pipeline(
        args.pipeline_size,
        repeats=args.pipeline_repeats,
        pairs=args.pairs,
        threads=threads)
    goals = check_goals(rows, forward, pipeline)
    ns = ', '.join(f'N={n}' for n in args.num_instances)
    print(f'# Codec benchmark: {ns} instances per call, K=17, median of '
          f'{args.repeats} calls after 3 warm-ups, '
          f'{args.threads or "default"} thread(s) (torch and OpenCV)')
    print()
    print('N = 1 is the call a top-down training pipeline makes '
          '(GenerateTarget encodes one sample, one instance); N = 64 is a '
          'test batch decoded by the head. The N = 64 encode rows are '
          'what a caller with 64 instances at hand gets, not what '
          'training gets.')
    print()
    for size in args.sizes:
        settings = '; '.join(f'{p.ours["type"]}: ' + ', '.join(
            f'{k}={v}'
            for k, v in p.ours.items() if k not in ('type', 'input_size'))
                             for p in codec_pairs(parse_size(size)))
        print(f'- {size} (input_size={parse_size(size)}): {settings}')
    print()
    print(format_table(rows))
    print()
    if forward:
        print('Forward pass per crop (backbone + head.forward, random '
              f'weights, median of {args.forward_repeats} calls):')
        print()
        print(format_forward(forward))
        print()
    if pipeline:
        print('Training data pipeline (LoadImage -> GetBBoxCenterScale -> '
              'TopdownAffine -> GenerateTarget(encode) -> PackPoseInputs, '
              'no random augmentation) over the people of '
              'tests/data/coco/test_coco.json, images read from disk; the '
              'first three steps (the same for both codecs) timed once per '
              'sample, GenerateTarget + PackPoseInputs on their output with '
              'each codec in turn (who goes first alternates from sample to '
              f'sample); medians of {args.pipeline_repeats} rounds per '
              f'sample, {args.threads or "default"} thread(s):')
        print()
        print(format_pipeline(pipeline))
        print()
    print('How it is compared:')
    print('- same seeded keypoints (10% invisible) for both sides; decoders '
          'get the same arrays: simdr_ext\'s targets + Gaussian noise of 1% '
          'of the peak (network-like, unambiguous argmax); mmpose\'s SimCC '
          'decode reads them as raw logits')
    print('- each side is called as its own pipeline/head calls it: '
          'SimCCLabel encodes and decodes N instances in one call, '
          'MSRAHeatmap one per call (its encode asserts N == 1); simdr_ext '
          'in one call, DarkHeatmap with (1, N*K, 2) keypoints reshaped to '
          'per-instance (N, K, H, W) maps (its N > 1 encode would merge '
          'instances by max)')
    print('- batch_decode = the call a head makes: simdr_ext\'s batch_decode '
          '(tensors in, lists out) vs mmpose\'s BaseHead.decode, which '
          'calls decode once per sample for codecs without batch_decode '
          '(SimCCLabel and MSRAHeatmap have none)')
    print('- "+softmax scores": simdr_ext\'s SimDR decoders return softmax '
          'probabilities in (0, 1], mmpose\'s SimCCLabel the max logit, so '
          'they may cost more; the goal below bounds that cost by the '
          'forward pass')
    print('- max abs diff: labels for encode (weights compared exactly), '
          'input px over visible keypoints for decoding; scores are not '
          'compared (different definitions)')
    for note in format_notes(rows):
        print(note)
    print()
    print('Goals:')
    for line in format_goals(goals):
        print(line)
    return 0 if goals['agreement']['met'] else 1


if __name__ == '__main__':
    sys.exit(main())
