# Copyright (c) simdr_ext contributors. All rights reserved.
"""The representation oracle: SimDR Appendix D and DARK Tables 1/3 on COCO.

Example::

    python tools/analysis/representation_oracle.py \\
        --ann-file tests/data/coco/test_coco.json \\
        --sizes 64x64 128x128 256x192 384x288

Encodes every ground-truth person with each codec after mmpose's top-down
affine, decodes the target itself (no network), maps it back to the image
and prints a markdown table of the errors, the mean OKS and the COCO AP.
Exits 1 when a quantisation bound of SimDR Appendix D is exceeded, else 0.
The work is done by :mod:`simdr_ext.analysis.representation_oracle`.
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional, Sequence

import simdr_ext  # noqa: F401  (registers the codecs)
from simdr_ext.analysis.codec_benchmark import parse_size
from simdr_ext.analysis.representation_oracle import (
    BBOX_PADDING, DEFAULT_ANN_FILE, ORACLE_SIZES, SIMDR_SIGMA,
    float32_tolerance, heatmap_settings, run_oracle)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Quantisation error of keypoint codecs on COCO people')
    parser.add_argument(
        '--ann-file',
        default=DEFAULT_ANN_FILE,
        help='COCO-format keypoint annotation file')
    parser.add_argument(
        '--sizes',
        nargs='+',
        default=list(ORACLE_SIZES),
        help='input sizes HxW, e.g. 256x192 (input_size w=192, h=256)')
    parser.add_argument(
        '--padding', type=float, default=BBOX_PADDING, help='bbox padding')
    args = parser.parse_args(argv)
    for size in args.sizes:
        try:
            parse_size(size)
        except ValueError as err:
            parser.error(str(err))
    return args


def bound_violations(rows: Sequence[dict]) -> List[dict]:
    """Rows whose largest per-axis error exceeds their quantisation bound
    by more than float32 rounding."""
    return [
        r for r in rows
        if r['bound'] is not None and r['max_axis_err_input'] > r['bound'] +
        float32_tolerance(parse_size(r['size']))
    ]


def _num(value: float) -> str:
    """Four decimals, or two significant digits below 1e-3."""
    if value == 0 or abs(value) >= 1e-3:
        return f'{value:.4f}'
    return f'{value:.1e}'


def format_table(rows: Sequence[dict]) -> str:
    """Markdown table of oracle rows.

    Args:
        rows (Sequence[dict]): Rows of
            :func:`simdr_ext.analysis.representation_oracle.run_oracle`.

    Returns:
        str: The table.
    """
    lines = [
        '| size | codec | settings | bound/axis (in px) | kpts | '
        'mean err (in px) | max axis err (in px) | mean err (img px) | '
        'mean OKS | AP |', '|---|---|---|---:|---:|---:|---:|---:|---:|---:|'
    ]
    for r in rows:
        bound = '-' if r['bound'] is None else f"{r['bound']:.4f}"
        lines.append(
            f"| {r['size']} | {r['codec']} | {r['settings']} | {bound} | "
            f"{r['n_kpt']}/{r['n_visible']} | {_num(r['mean_err_input'])} | "
            f"{_num(r['max_axis_err_input'])} | "
            f"{_num(r['mean_err_image'])} | {r['mean_oks']:.4f} | "
            f"{r['ap']:.4f} |")
    return '\n'.join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    rows = run_oracle(args.ann_file, args.sizes, args.padding)
    print('# Representation oracle on '
          f'{osp.relpath(args.ann_file)}')
    print()
    print('- people: non-crowd, num_keypoints > 0; bbox clipped to the '
          f'image, padding {args.padding:g}, aspect ratio fixed, '
          'get_warp_matrix + cv2.transform (mmpose TopdownAffine); back '
          'to the image with keypoints / input_size * scale + center - '
          '0.5 * scale (add_pred_to_datasample)')
    print('- decoded: the target itself (an ideal network): SimDR one-hot '
          'labels and heatmaps as they are, SimDR* as log(label) logits '
          '(the softmax of a KL-trained ideal output)')
    print('- errors: mean Euclidean distance over the visible keypoints the '
          'codec encodes (kpts); max axis err is the per-axis quantity '
          'SimDR Appendix D bounds (1/(2k) for SimDR, lambda/2 for an '
          'argmax heatmap); OKS and AP (xtcocotools COCOeval, score 1, '
          'COCO sigmas from mmpose\'s coco metainfo) use every visible '
          'keypoint')
    for size in args.sizes:
        sigma, blur = heatmap_settings(parse_size(size))
        print(f'- {size}: heatmap = input / 4, sigma {sigma:g} '
              f'(blur kernel {blur}); SimDR* sigma {SIMDR_SIGMA:g} bins')
    print('  (sigma 2 / kernel 11 is mmpose\'s and HRNet\'s COCO setting up '
          'to 256x192 and DARK Tables 1/3\'s at 128x96; sigma 3 / kernel 17 '
          'is mmpose\'s at 384x288; SimDR* k is SimDR Sec. 4.2\'s: 3 up to '
          '128x128, else 2)')
    print()
    print(format_table(rows))
    bad = bound_violations(rows)
    print()
    if bad:
        for r in bad:
            print(f"BOUND EXCEEDED: {r['size']} {r['codec']}: "
                  f"{r['max_axis_err_input']:.6f} > {r['bound']:.6f} px")
        return 1
    print('All quantisation bounds hold (max axis err <= bound + float32 '
          'rounding).')
    return 0


if __name__ == '__main__':
    sys.exit(main())
