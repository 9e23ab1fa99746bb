# Copyright (c) simdr_ext contributors. All rights reserved.
"""Time simdr_ext's codecs against mmpose's and check that they agree.

Example::

    python tools/analysis/benchmark_codecs.py --num-instances 64 \\
        --repeats 15 --sizes 64x64 128x128 256x192

Prints a markdown table (microseconds per instance, speed ratio
mmpose / simdr_ext, agreement) and the goal lines. Exits 1 when an
agreement check fails, else 0, so it can run as a check. The work is done
by :mod:`simdr_ext.analysis.codec_benchmark`.
"""
import argparse
import sys
from typing import List, Optional, Sequence

import simdr_ext  # noqa: F401  (registers the codecs)
from simdr_ext.analysis.codec_benchmark import (DEFAULT_SIZES, KPT_TOL,
                                                check_goals, codec_pairs,
                                                parse_size, run_benchmark)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Benchmark simdr_ext codecs against mmpose codecs')
    parser.add_argument(
        '--num-instances', type=int, default=64, help='instances N per call')
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
    args = parser.parse_args(argv)
    if args.num_instances < 1 or args.repeats < 1:
        parser.error('--num-instances and --repeats must be >= 1')
    for size in args.sizes:
        try:
            parse_size(size)
        except ValueError as err:
            parser.error(str(err))
    return args


def format_table(rows: Sequence[dict]) -> str:
    """Markdown table of benchmark rows.

    Args:
        rows (Sequence[dict]): Rows of
            :func:`simdr_ext.analysis.codec_benchmark.run_benchmark`.

    Returns:
        str: The table.
    """
    lines = [
        '| pair (simdr_ext / mmpose) | size | op | µs/inst ours | '
        'µs/inst mmpose | mmpose / ours | max abs diff | agree |',
        '|---|---|---|---:|---:|---:|---:|---|'
    ]
    for r in rows:
        lines.append(
            f"| {r['pair']} | {r['size']} | {r['op']} | {r['us_ours']:.1f} "
            f"| {r['us_mmpose']:.1f} | {r['ratio']:.1f}x | "
            f"{r['max_abs_diff']:.2e} {r['diff_unit']} | "
            f"{'yes' if r['agree'] else 'NO'} |")
    return '\n'.join(lines)


def format_notes(rows: Sequence[dict]) -> List[str]:
    """Per pair: where the codecs legitimately differ, and the noise-only
    (invisible) keypoints that decode differently at each size."""
    notes = []
    for r in rows:
        if r['op'] == 'encode':
            notes.append(f"- {r['pair']} ({r['size']}): {r['note']}")
        elif r['op'] == 'decode':
            notes.append(
                f"- {r['pair']} ({r['size']}), decode: {r['compared']} "
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


def format_goals(rows: Sequence[dict]) -> List[str]:
    goals = check_goals(rows)
    lines = []
    for key in ('encode', 'dark_decode', 'dark_batch_decode'):
        g = goals[key]
        if g['met'] is None:
            lines.append(f"- {g['text']}: not measured")
            continue
        lines.append(f"- {g['text']}: {'MET' if g['met'] else 'NOT MET'} "
                     f"(lowest ratio {min(g['value']):.1f}x)")
    g = goals['agreement']
    worst = max(g['value']) if g['value'] else 0.0
    lines.append(f"- {g['text']}: {'MET' if g['met'] else 'FAILED'} "
                 f'(largest keypoint difference {worst:.2e} px, '
                 f'tolerance {KPT_TOL:g} px)')
    return lines


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    rows = run_benchmark(
        sizes=args.sizes,
        num_instances=args.num_instances,
        repeats=args.repeats,
        seed=args.seed,
        pairs=args.pairs,
        threads=args.threads or None)
    print(f'# Codec benchmark: N={args.num_instances} instances, K=17, '
          f'median of {args.repeats} calls after 3 warm-ups, '
          f'{args.threads or "default"} thread(s)')
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
    print('How it is compared:')
    print('- same seeded keypoints (10% invisible) for both sides; decoders '
          'get the same arrays: simdr_ext\'s targets + Gaussian noise of 1% '
          'of the peak (network-like, unambiguous argmax); mmpose\'s SimCC '
          'decode reads them as raw logits')
    print('- mmpose encode = N single-instance calls (GenerateTarget; '
          'MSRAHeatmap asserts N == 1); simdr_ext = one call, DarkHeatmap '
          'with (1, N*K, 2) keypoints reshaped to per-instance (N, K, H, W) '
          'maps (its N > 1 encode would merge instances by max)')
    print('- mmpose decode = per-sample decode() on (K, ...) arrays, as '
          'BaseHead.decode calls codecs without batch_decode (SimCCLabel '
          'and MSRAHeatmap have none); simdr_ext decode = one numpy call '
          'on (N, K, ...), batch_decode = the call mmpose heads make '
          '(tensors in, lists out)')
    print('- max abs diff: labels for encode (weights compared exactly), '
          'input px over visible keypoints for decoding; scores are not '
          'compared (different definitions)')
    for note in format_notes(rows):
        print(note)
    print()
    print('Goals:')
    for line in format_goals(rows):
        print(line)
    return 0 if check_goals(rows)['agreement']['met'] else 1


if __name__ == '__main__':
    sys.exit(main())
