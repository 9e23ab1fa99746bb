# Copyright (c) simdr_ext contributors. All rights reserved.
"""Speed of int8 quantization variants against the float32 ONNX export.

Every variant is quantized from the same float32 export (calibrated on
the bundled COCO, CrowdPose and MPII people) and timed on the same crops
(the bundled COCO detections) in one run, the variants interleaved round
after round so that a busy machine slows all alike; crops/s are the
median over the rounds. The CPU's instruction-set flags are printed with
the table (int8 convolutions run u8s8 ``vpmaddubsw`` code on AVX2, VNNI
``vpdpbusd`` code where the CPU has it).

Example::

    python tools/deploy/int8_variants.py \\
        configs/simdr/coco/simdr_res50_wo-deconv_4xb32-140e_coco-256x192.py \\
        none --work-dir work_dirs/int8_variants
"""
import argparse
import os
import os.path as osp
import sys
import time
from typing import Dict, List, Optional

import numpy as np

#: name → quantize_int8 keyword arguments (None: the float32 graph).
VARIANTS: Dict[str, object] = {
    'fp32': None,
    'naive-qdq': dict(op_types=('Conv', 'MatMul', 'Gemm'), float_depth=0,
                      inline_biases=False),
    'qdq-conv': dict(op_types=('Conv', )),
    'qdq-conv-relu-add': dict(),
    'qdq-conv-relu-add-pre': dict(pre_process=True),
    'qdq-per-tensor': dict(per_channel=False),
    'qdq-reduce-range': dict(reduce_range=True),
    'qdq-s8-act': dict(activation='int8'),
    'qdq-also-last-layer': dict(
        op_types=('Conv', 'Relu', 'Add', 'MaxPool', 'MatMul'),
        float_depth=0),
    'qdq-rr-last2': dict(reduce_range=True, float_depth=2),
    'qdq-rr-first': dict(reduce_range=True, float_first=True),
    'qdq-rr-first-last2': dict(reduce_range=True, float_first=True,
                               float_depth=2),
    'qdq-rr-per-tensor': dict(reduce_range=True, per_channel=False),
    'qdq-u8u8': dict(weight='uint8'),
    'shipped (INT8_OPTIONS)': 'INT8_OPTIONS',
    'qoperator-naive': dict(quant_format='QOperator',
                            op_types=('Conv', 'MatMul', 'Gemm'),
                            float_depth=0, inline_biases=False),
    'qoperator': dict(quant_format='QOperator'),
}
#: graph optimisation levels timed for the chosen variant and fp32.
LEVELS = ('basic', 'extended', 'all')


def cpu_flags() -> str:
    """The SIMD flags of ``/proc/cpuinfo`` that matter for int8."""
    try:
        with open('/proc/cpuinfo') as f:
            flags = next((ln.split(':', 1)[1].split() for ln in f
                          if ln.startswith('flags')), [])
    except OSError:
        return 'unknown'
    keep = [f for f in flags if f in ('avx', 'avx2', 'fma', 'f16c')
            or f.startswith(('avx512', 'avx_vnni', 'amx'))]
    return ' '.join(keep) or 'no AVX'


def make_session(onnx_file: str, threads: int, level: str = 'all'):
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = dict(
        basic=ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        extended=ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        all=ort.GraphOptimizationLevel.ORT_ENABLE_ALL)[level]
    return ort.InferenceSession(onnx_file, options,
                                providers=['CPUExecutionProvider'])


def time_sessions(sessions: Dict[str, object], batch: np.ndarray,
                  rounds: int) -> Dict[str, float]:
    """Median crops/s of every session on ``batch``, interleaved."""
    times: Dict[str, List[float]] = {k: [] for k in sessions}
    for s in sessions.values():
        s.run(None, {'crops': batch})
    for _ in range(rounds):
        for name, s in sessions.items():
            start = time.perf_counter()
            s.run(None, {'crops': batch})
            times[name].append(time.perf_counter() - start)
    return {k: len(batch) / float(np.median(v)) for k, v in times.items()}


def run_variants(fp32_file: str, calib: np.ndarray, batch: np.ndarray,
                 folder: str, variants: Dict[str, Optional[dict]],
                 threads: int = 2, rounds: int = 5, log=print) -> List[Dict]:
    """Quantize every variant and time it against ``fp32_file``.

    Args:
        fp32_file (str): The float32 export.
        calib (np.ndarray): Calibration crops (N, 3, h, w).
        batch (np.ndarray): The timed batch (B, 3, h, w).
        folder (str): Where the variants' files go.
        variants (dict): name → :func:`quantize_int8` options.
        threads (int): Intra-op threads. Defaults to 2.
        rounds (int): Timed runs per variant. Defaults to 5.
        log (callable): Progress lines.

    Returns:
        list[dict]: Per variant ``name``, ``crops_per_s``, ``ratio`` (to
        fp32, same run), ``error`` (why it has no timing) and ``ops``
        (QLinearConv / QLinearAdd / QuantizeLinear / DequantizeLinear
        counts after onnxruntime's optimisation is not known here: the
        file's own counts).
    """
    from simdr_ext.deploy.quantize import op_counts, quantize_int8
    sessions, rows = {}, {}
    for name, options in variants.items():
        rows[name] = dict(name=name, crops_per_s=None, ratio=None,
                          error=None, ops={})
        out = fp32_file
        if options is not None:
            out = osp.join(folder, f'{name.split()[0]}.onnx')
            try:
                start = time.perf_counter()
                quantize_int8(fp32_file, out, calib, **options)
                log(f'{name}: quantized in '
                    f'{time.perf_counter() - start:.0f} s')
            except Exception as err:
                rows[name]['error'] = f'{type(err).__name__}: {err}'[:200]
                log(f'{name}: {rows[name]["error"]}')
                continue
        counts = op_counts(out)
        rows[name]['ops'] = {k: counts.get(k, 0) for k in (
            'Conv', 'QLinearConv', 'QuantizeLinear', 'DequantizeLinear')}
        try:
            sessions[name] = make_session(out, threads)
        except Exception as err:
            rows[name]['error'] = f'{type(err).__name__}: {err}'[:200]
            log(f'{name}: {rows[name]["error"]}')
    speeds = time_sessions(sessions, batch, rounds)
    for name, value in speeds.items():
        rows[name].update(crops_per_s=value,
                          ratio=value / speeds['fp32'] if 'fp32' in speeds
                          else None)
    return list(rows.values())


def format_table(rows: List[Dict], header: str) -> str:
    lines = [header, f'{"variant":<24} {"crops/s":>8} {"vs fp32":>8}  note']
    for r in rows:
        if r['crops_per_s'] is None:
            lines.append(f'{r["name"]:<24} {"-":>8} {"-":>8}  {r["error"]}')
        else:
            lines.append(f'{r["name"]:<24} {r["crops_per_s"]:8.2f} '
                         f'{r["ratio"]:7.2f}x  {r["ops"]}')
    return '\n'.join(lines)


def build_parser() -> argparse.ArgumentParser:
    """The command line: the module docstring is its description, its
    example the epilog."""
    from simdr_ext.utils.cli import tool_parser
    parser = tool_parser(__doc__)
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint',
                        help='checkpoint, or "none" (random weights: '
                        'enough for speed)')
    parser.add_argument('--work-dir', required=True,
                        help='folder for the exported files')
    parser.add_argument('--variants', nargs='+', default=list(VARIANTS),
                        choices=list(VARIANTS), help='variants to time')
    parser.add_argument('--batch-size', type=int, default=8,
                        help='crops per run')
    parser.add_argument('--threads', type=int, default=2,
                        help='intra-op threads')
    parser.add_argument('--rounds', type=int, default=5,
                        help='timed rounds')
    parser.add_argument('--levels', action='store_true',
                        help='also time fp32 and the shipped variant at '
                        'every graph optimisation level')
    return parser


def parse_args(argv=None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch

    import simdr_ext  # noqa: F401
    from simdr_ext.deploy import crop_geometry, export_onnx
    from simdr_ext.deploy.quantize import INT8_OPTIONS, bundled_crops
    from mmpose.apis import init_model

    from simdr_ext.engine import load_checked_checkpoint
    os.makedirs(args.work_dir, exist_ok=True)
    torch.manual_seed(0)
    ckpt = None if args.checkpoint.lower() == 'none' else args.checkpoint
    model = init_model(args.config, None, device='cpu')
    load_checked_checkpoint(model, ckpt)
    geometry = crop_geometry(model.cfg)
    fp32_file = osp.join(args.work_dir, 'fp32.onnx')
    export_onnx(model, fp32_file)
    size = geometry.input_size
    calib = bundled_crops(('coco', 'crowdpose', 'mpii'), size,
                          geometry.padding, geometry.use_udp)
    batch = bundled_crops(('coco_det', ), size, geometry.padding,
                          geometry.use_udp)[:args.batch_size]
    header = (f'{osp.basename(args.config)}, batch {len(batch)}, '
              f'{args.threads} threads, onnxruntime CPU; CPU flags: '
              f'{cpu_flags()}')
    chosen = {k: INT8_OPTIONS if VARIANTS[k] == 'INT8_OPTIONS' else
              VARIANTS[k] for k in args.variants}
    rows = run_variants(fp32_file, calib, batch, args.work_dir, chosen,
                        args.threads, args.rounds)
    print(format_table(rows, header), flush=True)
    if args.levels:
        from simdr_ext.deploy.quantize import quantize_int8
        int8_file = osp.join(args.work_dir, 'shipped.onnx')
        quantize_int8(fp32_file, int8_file, calib, **INT8_OPTIONS)
        sessions = {}
        for level in LEVELS:
            sessions[f'fp32 {level}'] = make_session(fp32_file, args.threads,
                                                     level)
            sessions[f'int8 {level}'] = make_session(int8_file, args.threads,
                                                     level)
        speeds = time_sessions(sessions, batch, args.rounds)
        for level in LEVELS:
            print(f'graph optimisation {level}: fp32 '
                  f'{speeds[f"fp32 {level}"]:.2f} crops/s, int8 '
                  f'{speeds[f"int8 {level}"]:.2f} crops/s')
    return 0


if __name__ == '__main__':
    sys.exit(main())
