# Copyright (c) simdr_ext contributors. All rights reserved.
"""Sustained GEMM and convolution rate of this CPU per precision.

Example::

    python tools/analysis/gemm_rate.py              # 2 threads
    python tools/analysis/gemm_rate.py --threads 1 --repeats 10

The arithmetic limit an inference path is measured against: float32
(torch ``matmul`` / ``conv2d`` and onnxruntime ``MatMul`` / ``Conv``),
bfloat16 (torch; native or emulated, as this CPU's flags and oneDNN say),
float16 (onnxruntime; where its CPU provider has no float16 kernel it
inserts casts and computes in float32, which the note column shows: the
node types of the graph it really runs) and int8
(onnxruntime ``QLinearMatMul`` / ``QLinearConv`` / ``MatMulInteger`` /
``ConvInteger`` as one-node ONNX graphs, uint8 activations and int8
weights; torch's quantized ``linear`` / ``conv2d`` as a second source).

Sizes: the 3x3 convolution of ResNet-50's third stage at a 256x192 input
(256 -> 256 channels, 16x12 output, padding 1) for a batch of 8 crops,
once as a convolution (input 8x256x16x12) and once as the GEMM it lowers
to (im2col: M = 8 x 16 x 12 = 1536 output pixels, K = 256 x 3 x 3 = 2304,
N = 256 filters). One multiply-add counts 2 operations, so each call is
2 x M x K x N = 1.81 G operations; the rate is GFLOP/s (int8: GOP/s), the
best of ``--repeats`` timed calls after ``--warmup`` untimed ones (fewer
repeats where one call takes longer than ``--budget`` seconds / repeats).
A kernel the installed runtime lacks gives a row with the reason instead
of a rate.
"""
import argparse
import os
import os.path as osp
import tempfile
import time
import warnings
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from simdr_ext.utils.cli import tool_parser

#: CPU flags that decide the native precisions of x86 CPUs
FLAGS = ('fma', 'f16c', 'avx2', 'avx512f', 'avx512_bf16', 'avx512_vnni',
         'avx_vnni', 'amx_bf16', 'amx_int8', 'avx512_fp16')
#: precisions measured, in table order
PRECISIONS = ('fp32', 'bf16', 'fp16', 'int8')


@dataclass(frozen=True)
class ConvShape:
    """A convolution and the GEMM it lowers to (im2col).

    Args:
        batch (int): Crops per call.
        channels_in (int): Input channels.
        channels_out (int): Output channels (filters).
        height (int): Output height (stride 1, padding keeps it).
        width (int): Output width.
        kernel (int): Square kernel size (odd).
        name (str): What the shape stands for.
    """

    batch: int = 8
    channels_in: int = 256
    channels_out: int = 256
    height: int = 16
    width: int = 12
    kernel: int = 3
    name: str = ('ResNet-50 stage-3 3x3 conv at a 256x192 input, 8 crops')

    @property
    def gemm(self) -> Tuple[int, int, int]:
        """``(M, K, N)`` of the im2col GEMM."""
        return (self.batch * self.height * self.width,
                self.channels_in * self.kernel**2, self.channels_out)

    @property
    def ops(self) -> float:
        """Operations per call: 2 per multiply-add."""
        m, k, n = self.gemm
        return 2.0 * m * k * n


#: the default shape (see the module docstring)
RESNET50_STAGE3 = ConvShape()


def cpu_flags() -> List[str]:
    """The flags of :data:`FLAGS` that ``/proc/cpuinfo`` lists (empty
    where it cannot be read)."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('flags'):
                    have = set(line.split(':', 1)[1].split())
                    return [flag for flag in FLAGS if flag in have]
    except OSError:
        pass
    return []


def bf16_support() -> Tuple[bool, str]:
    """Whether bfloat16 arithmetic is native on this CPU, and why.

    Returns:
        tuple: ``(native, reason)``; native when oneDNN reports bfloat16
        support (``torch.ops.mkldnn._is_mkldnn_bf16_supported``, true on
        CPUs with avx512_bf16 or AMX); otherwise torch converts to float32
        and back around each operation (emulated).
    """
    flags = cpu_flags()
    try:
        mkldnn = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        mkldnn = False
    native_flags = [f for f in ('avx512_bf16', 'amx_bf16') if f in flags]
    if mkldnn:
        return True, ('native: oneDNN bf16 supported'
                      + (f' ({", ".join(native_flags)})'
                         if native_flags else ''))
    return False, ('emulated: no avx512_bf16 / amx_bf16 in the CPU flags, '
                   'oneDNN bf16 unsupported (torch capability '
                   f'{torch.backends.cpu.get_cpu_capability()})')


def best_seconds(call: Callable[[], object], repeats: int, warmup: int,
                 budget: float) -> float:
    """Best wall time of one call.

    Args:
        call (callable): The operation.
        repeats (int): Timed calls at most.
        warmup (int): Untimed calls first (at least one, which also sizes
            the repeats).
        budget (float): Seconds for the timed calls: fewer repeats (at
            least 1) where one call takes longer than ``budget / repeats``.

    Returns:
        float: The fastest timed call, in seconds.
    """
    start = time.perf_counter()
    call()
    first = time.perf_counter() - start
    for _ in range(max(0, warmup - 1)):
        call()
    repeats = max(1, min(repeats, int(budget / max(first, 1e-9))))
    best = float('inf')
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return best


def torch_calls(shape: ConvShape,
                dtype: torch.dtype) -> Dict[str, Callable[[], object]]:
    """torch ``matmul`` and ``conv2d`` of ``shape`` in ``dtype``."""
    gen = torch.Generator().manual_seed(0)
    m, k, n = shape.gemm
    a = torch.randn(m, k, generator=gen).to(dtype)
    b = torch.randn(k, n, generator=gen).to(dtype)
    x = torch.randn(shape.batch, shape.channels_in, shape.height,
                    shape.width, generator=gen).to(dtype)
    w = torch.randn(shape.channels_out, shape.channels_in, shape.kernel,
                    shape.kernel, generator=gen).to(dtype)
    pad = shape.kernel // 2
    return dict(matmul=lambda: torch.matmul(a, b),
                conv=lambda: F.conv2d(x, w, padding=pad))


def torch_int8_calls(shape: ConvShape) -> Dict[str, Callable[[], object]]:
    """torch's quantized ``linear`` (the GEMM transposed: weight N x K)
    and ``conv2d`` (x86 / fbgemm engine), quint8 activations and qint8
    weights."""
    engines = torch.backends.quantized.supported_engines
    engine = next((e for e in ('x86', 'fbgemm') if e in engines), None)
    if engine is None:
        raise RuntimeError(f'no x86/fbgemm quantized engine in {engines}')
    torch.backends.quantized.engine = engine
    gen = torch.Generator().manual_seed(0)
    m, k, n = shape.gemm
    with warnings.catch_warnings():
        # torch deprecates its quantized tensors (in favour of torchao)
        warnings.simplefilter('ignore', UserWarning)
        weight = torch.quantize_per_tensor(
            torch.randn(n, k, generator=gen), 0.02, 0, torch.qint8)
        packed = torch.ops.quantized.linear_prepack(weight, None)
        a = torch.quantize_per_tensor(
            torch.rand(m, k, generator=gen), 1 / 255, 0, torch.quint8)
        conv = torch.ao.nn.quantized.Conv2d(shape.channels_in,
                                            shape.channels_out,
                                            shape.kernel,
                                            padding=shape.kernel // 2)
        x = torch.quantize_per_tensor(
            torch.rand(shape.batch, shape.channels_in, shape.height,
                       shape.width, generator=gen), 1 / 255, 0,
            torch.quint8)
    return dict(matmul=lambda: torch.ops.quantized.linear(a, packed, 1.0, 0),
                conv=lambda: conv(x))


def onnx_graph(op: str, precision: str, shape: ConvShape):
    """A one-node ONNX model: ``op`` ('matmul' or 'conv') of ``shape``.

    Args:
        op (str): ``'matmul'`` or ``'conv'``.
        precision (str): ``'fp32'`` / ``'fp16'`` (``MatMul`` / ``Conv``),
            ``'int8-qlinear'`` (``QLinearMatMul`` / ``QLinearConv``, uint8
            in and out, int8 weights) or ``'int8-integer'``
            (``MatMulInteger`` / ``ConvInteger``, int32 out).

    Returns:
        tuple: The ``onnx.ModelProto`` and its input feeds (name -> array).
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(0)
    m, k, n = shape.gemm
    if op == 'matmul':
        x_shape, w_shape = (m, k), (k, n)
        y_shape = [m, n]
    else:
        x_shape = (shape.batch, shape.channels_in, shape.height, shape.width)
        w_shape = (shape.channels_out, shape.channels_in, shape.kernel,
                   shape.kernel)
        y_shape = [shape.batch, shape.channels_out, shape.height,
                   shape.width]
    pad = shape.kernel // 2
    conv_attrs = dict(pads=[pad] * 4) if op == 'conv' else {}
    inits, inputs = [], ['x']
    if precision in ('fp32', 'fp16'):
        dtype = np.float32 if precision == 'fp32' else np.float16
        elem = TensorProto.FLOAT if precision == 'fp32' \
            else TensorProto.FLOAT16
        feed = rng.standard_normal(x_shape).astype(dtype)
        inits.append(numpy_helper.from_array(
            rng.standard_normal(w_shape).astype(dtype), 'w'))
        node = helper.make_node('MatMul' if op == 'matmul' else 'Conv',
                                ['x', 'w'], ['y'], **conv_attrs)
        x_elem, y_elem = elem, elem
    else:
        feed = rng.integers(0, 256, x_shape, dtype=np.uint8)
        # 7-bit weights (onnxruntime's quantizer's reduce_range): uint8 x
        # int8 pairs then sum within int16 (no saturation in AVX2's
        # vpmaddubsw, which onnxruntime's u8s8 kernels use)
        w = rng.integers(-63, 64, w_shape, dtype=np.int8)

        def const(name, value, dtype):
            inits.append(numpy_helper.from_array(np.array(value, dtype),
                                                 name))
            return name

        if precision == 'int8-qlinear':
            inits.append(numpy_helper.from_array(w, 'w'))
            names = ['x', const('xs', 1 / 255, np.float32),
                     const('xz', 128, np.uint8), 'w',
                     const('ws', 0.02, np.float32),
                     const('wz', 0, np.int8),
                     const('ys', 0.5, np.float32),
                     const('yz', 128, np.uint8)]
            node = helper.make_node(
                'QLinearMatMul' if op == 'matmul' else 'QLinearConv',
                names, ['y'], **conv_attrs)
            y_elem = TensorProto.UINT8
        elif precision == 'int8-integer':
            # ConvInteger's CPU kernel takes uint8 weights
            if op == 'conv':
                w = (w.astype(np.int16) + 128).astype(np.uint8)
            inits.append(numpy_helper.from_array(w, 'w'))
            wz = const('wz', 128 if op == 'conv' else 0, w.dtype)
            names = ['x', 'w', const('xz', 128, np.uint8), wz]
            node = helper.make_node(
                'MatMulInteger' if op == 'matmul' else 'ConvInteger',
                names, ['y'], **conv_attrs)
            y_elem = TensorProto.INT32
        else:
            raise ValueError(f'unknown precision {precision!r}')
        x_elem = TensorProto.UINT8
    graph = helper.make_graph(
        [node], f'{op}_{precision}',
        [helper.make_tensor_value_info(inputs[0], x_elem, list(x_shape))],
        [helper.make_tensor_value_info('y', y_elem, y_shape)], inits)
    model = helper.make_model(graph,
                              opset_imports=[helper.make_opsetid('', 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model, {'x': feed}


def onnx_call(op: str, precision: str, shape: ConvShape,
              threads: int) -> Callable[[], object]:
    """An onnxruntime CPU session of :func:`onnx_graph`, as a call
    (``threads`` intra-op threads, all graph optimisations).

    Returns:
        callable: The call; its ``executed`` attribute lists the node
        types of the graph onnxruntime runs after its optimisations (a
        float16 node without a float16 CPU kernel runs in float32 between
        ``Cast`` nodes that onnxruntime inserts).
    """
    import onnx
    import onnxruntime as ort
    model, feeds = onnx_graph(op, precision, shape)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    with tempfile.TemporaryDirectory() as folder:
        options.optimized_model_filepath = osp.join(folder, 'opt.onnx')
        session = ort.InferenceSession(model.SerializeToString(), options,
                                       providers=['CPUExecutionProvider'])
        executed = [n.op_type for n in onnx.load(
            options.optimized_model_filepath).graph.node]

    def call():
        return session.run(None, feeds)

    call.executed = executed
    return call


def row_note(precision: str, call: Callable, bf16_native: bool) -> str:
    """What a measurement really computes: emulated bfloat16, or float16
    nodes run as float32 between inserted casts."""
    executed = getattr(call, 'executed', None)
    if executed is not None:
        if precision == 'fp16' and 'Cast' in executed:
            return ('float32 arithmetic: onnxruntime runs ' +
                    ' -> '.join(executed))
        return 'runs ' + ' -> '.join(executed)
    if precision == 'bf16':
        return 'native' if bf16_native else 'emulated'
    return ''


def _sources(shape: ConvShape, threads: int):
    """(precision, source, op, factory) of every measurement."""
    out = []
    for op in ('matmul', 'conv'):
        out.append(('fp32', 'torch', op,
                    lambda op=op: torch_calls(shape, torch.float32)[op]))
        out.append(('fp32', 'onnxruntime', op,
                    lambda op=op: onnx_call(op, 'fp32', shape, threads)))
    for op in ('matmul', 'conv'):
        out.append(('bf16', 'torch', op,
                    lambda op=op: torch_calls(shape, torch.bfloat16)[op]))
    for op in ('matmul', 'conv'):
        out.append(('fp16', 'onnxruntime', op,
                    lambda op=op: onnx_call(op, 'fp16', shape, threads)))
    for kind in ('int8-qlinear', 'int8-integer'):
        for op in ('matmul', 'conv'):
            out.append(('int8', f'onnxruntime {kind[5:]}', op,
                        lambda op=op, kind=kind: onnx_call(
                            op, kind, shape, threads)))
    for op in ('matmul', 'conv'):
        out.append(('int8', 'torch quantized', op,
                    lambda op=op: torch_int8_calls(shape)[op]))
    return out


def rates(threads: int = 2,
          repeats: int = 5,
          warmup: int = 1,
          budget: float = 2.0,
          shape: ConvShape = RESNET50_STAGE3) -> Dict:
    """Sustained GEMM / convolution rate per precision at ``threads``.

    Args:
        threads (int): torch and onnxruntime intra-op threads (torch's
            setting is restored afterwards). Defaults to 2.
        repeats (int): Timed calls per measurement (best kept). Defaults
            to 5.
        warmup (int): Untimed calls first. Defaults to 1.
        budget (float): Seconds of timed calls per measurement (slow ones
            get fewer repeats). Defaults to 2.0.
        shape (ConvShape): The convolution and its GEMM. Defaults to
            :data:`RESNET50_STAGE3`.

    Returns:
        dict: ``rows``: one per measurement, ``precision``, ``source``,
        ``op`` ('matmul' or 'conv'), ``gflops`` (GFLOP/s, int8 GOP/s;
        ``None`` with an ``error`` where the kernel is missing), ``note``
        (:func:`row_note`);
        ``best``: precision -> highest rate (``None`` when nothing ran);
        ``bf16_native`` and ``bf16``: :func:`bf16_support`; ``flags``
        (:func:`cpu_flags`), ``capability`` (torch's), ``threads``,
        ``shape`` (:class:`ConvShape`), ``ops`` per call.
    """
    if threads < 1 or repeats < 1:
        raise ValueError('threads and repeats must be >= 1, got '
                         f'{threads} and {repeats}')
    native, why = bf16_support()
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    rows = []
    try:
        for precision, source, op, factory in _sources(shape, threads):
            row = dict(precision=precision, source=source, op=op,
                       gflops=None, error=None, note='')
            try:
                call = factory()
                row['note'] = row_note(precision, call, native)
                seconds = best_seconds(call, repeats, warmup, budget)
                row['gflops'] = shape.ops / seconds / 1e9
            except Exception as err:  # a kernel this runtime lacks
                row['error'] = f'{type(err).__name__}: ' + \
                    ' '.join(str(err).split())[:160]
            rows.append(row)
    finally:
        torch.set_num_threads(before)
    best: Dict[str, Optional[float]] = {}
    for precision in PRECISIONS:
        got = [r['gflops'] for r in rows
               if r['precision'] == precision and r['gflops'] is not None]
        best[precision] = max(got) if got else None
    return dict(rows=rows, best=best, bf16_native=native, bf16=why,
                flags=cpu_flags(),
                capability=torch.backends.cpu.get_cpu_capability(),
                threads=threads, shape=shape, ops=shape.ops)


def format_rates(result: Dict) -> str:
    """Markdown table of :func:`rates` and the lines above it."""
    shape = result['shape']
    m, k, n = shape.gemm
    lines = [
        f'CPU flags: {" ".join(result["flags"]) or "unknown"}; torch '
        f'capability {result["capability"]}; {result["threads"]} '
        f'thread(s); bf16 {result["bf16"]}',
        f'Shape: {shape.name}: conv {shape.batch}x{shape.channels_in}x'
        f'{shape.height}x{shape.width} * {shape.channels_out}x'
        f'{shape.channels_in}x{shape.kernel}x{shape.kernel}, GEMM M={m} '
        f'K={k} N={n}, {result["ops"] / 1e9:.2f} G operations per call',
        '', '| precision | source | op | GFLOP/s (int8: GOP/s) | note |',
        '|---|---|---|---:|---|'
    ]
    for r in result['rows']:
        value = f'{r["gflops"]:.1f}' if r['gflops'] is not None else \
            f'not run ({r["error"]})'
        lines.append(f'| {r["precision"]} | {r["source"]} | {r["op"]} | '
                     f'{value} | {r["note"]} |')
    lines.append('')
    for precision, value in result['best'].items():
        text = f'{value:.1f}' if value is not None else 'none'
        lines.append(f'- best {precision}: {text}')
    return '\n'.join(lines)


def build_parser() -> argparse.ArgumentParser:
    """The command line: the module docstring is its description, its
    example the epilog."""
    parser = tool_parser(__doc__)
    parser.add_argument('--threads', type=int, default=2,
                        help='torch and onnxruntime intra-op threads')
    parser.add_argument('--repeats', type=int, default=5,
                        help='timed calls per measurement (best kept)')
    parser.add_argument('--warmup', type=int, default=1,
                        help='untimed calls first')
    parser.add_argument('--budget', type=float, default=2.0,
                        help='seconds of timed calls per measurement')
    return parser


def main(argv=None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.threads < 1 or args.repeats < 1 or args.warmup < 0 or \
            args.budget <= 0:
        parser.error('--threads and --repeats must be >= 1, --warmup >= 0 '
                     'and --budget > 0')
    print(f'# Sustained GEMM / convolution rate (load average '
          f'{os.getloadavg()[0]:.1f} at the start)\n')
    print(format_rates(rates(args.threads, args.repeats, args.warmup,
                             args.budget)))


if __name__ == '__main__':
    main()
