# Copyright (c) simdr_ext contributors. All rights reserved.
"""The batch size of :class:`BatchedTopdownInferencer` when none is given,
and the measurement behind it.

Measure the cost per crop against the batch size, and the inferencer
against mmpose's ``inference_topdown`` on images with 1-3 people::

    python -m simdr_ext.apis.batch_size CONFIG [CHECKPOINT] \\
        [--sizes 1 2 3 4 8 16] [--threads 1] [--compare-mmpose]
"""
import argparse
import copy
import time
import weakref
from typing import Callable, Dict, Optional, Sequence, Tuple

import numpy as np
import torch

#: Crops per forward pass on the CPU (see :func:`cpu_batch_size`).
CPU_BATCH_SIZE = 8
#: The largest batch tried on a GPU.
MAX_GPU_BATCH_SIZE = 256

_measured: 'weakref.WeakKeyDictionary' = weakref.WeakKeyDictionary()


def cpu_batch_size() -> int:
    """Crops per forward pass on the CPU: :data:`CPU_BATCH_SIZE` (8).

    On the CPU the per-crop cost of a convolutional pose network hardly
    falls past a few crops per batch: the time goes to arithmetic, not
    per-call overhead. Measured with ``python -m simdr_ext.apis.batch_size
    CONFIG --threads 1 --channels-last --clock cpu`` (whole
    :meth:`BatchedTopdownInferencer.infer_crops`, CPU time, best of 3 (2
    for ResNet-50), 1 thread; AMD EPYC with AVX2 and FMA, no AVX-512, no
    native bf16; random weights; 2 cores shared with other work, so
    +-10 %), milliseconds per crop::

        batch                           1      2      3      4      8     16
        Res-18 quickstart 128x96 NCHW 27.9   20.2   18.0   16.6   15.6   15.3
        Res-18 quickstart 128x96 NHWC 20.7   20.8   16.9   15.3   13.4   13.0
        Res-50 up-free 256x192   NCHW  433    371    375    343    263    262
        Res-50 up-free 256x192   NHWC  240    246    235    226    241    263

    (NHWC: the weights in channels-last, the inferencer's CPU default.)
    8 is at or within the noise of the lowest cost per crop of both, below
    the cost of sizes 1-3 (the batches mmpose's ``inference_topdown`` runs
    for images with 1-3 people: all boxes of one image) but for the
    ResNet-50 at 3 (+3 %, within the noise), and bounds the crops held
    and the wait before the first result. Crops are grouped across
    images, so a batch is full whenever the images together hold 8 boxes;
    only the last batch of a call is smaller (never padded), so one image
    with 2 people runs as a batch of 2, exactly as in mmpose.

    Returns:
        int: The batch size.
    """
    return CPU_BATCH_SIZE


def measure_crop_cost(infers: Dict[str, Callable[[np.ndarray], object]],
                      input_size: Sequence[int],
                      sizes: Sequence[int],
                      repeats: int = 3,
                      clock: Callable[[], float] = time.perf_counter,
                      seed: int = 0) -> Dict[str, Dict[int, float]]:
    """Seconds per crop of each ``infer`` on random uint8 crops per batch
    size; the runs interleave (every infer and size once per round), so
    a load that comes and goes touches all alike.

    Args:
        infers (dict): Named callables taking uint8 BGR crops (B, h, w, 3),
            e.g. :meth:`BatchedTopdownInferencer.infer_crops`.
        input_size (Sequence[int]): ``(w, h)`` of the crops.
        sizes (Sequence[int]): Batch sizes.
        repeats (int): Timed rounds after one warm-up round; the fastest
            counts. Defaults to 3.
        clock (callable): ``time.perf_counter`` (wall) or
            ``time.process_time`` (CPU time of this process: with one
            thread, what other processes on the machine change least).
        seed (int): Seed of the crops. Defaults to 0.

    Returns:
        dict: ``{name: {batch size: seconds per crop}}``.
    """
    w, h = (int(v) for v in input_size)
    rng = np.random.default_rng(seed)
    crops = rng.integers(0, 256, (max(sizes), h, w, 3), dtype=np.uint8)
    cuda = torch.cuda.is_available()
    costs = {name: {int(size): float('inf') for size in sizes}
             for name in infers}
    for round_ in range(repeats + 1):
        for name, infer in infers.items():
            for size in sizes:
                if cuda:
                    torch.cuda.synchronize()
                start = clock()
                infer(crops[:size])
                if cuda:
                    torch.cuda.synchronize()
                if round_:
                    costs[name][int(size)] = min(costs[name][int(size)],
                                                 (clock() - start) / size)
    return costs


def fill_device_batch_size(inferencer,
                           max_size: int = MAX_GPU_BATCH_SIZE,
                           gain: float = 0.05,
                           clock: Callable[[], float] = time.perf_counter
                           ) -> int:
    """The batch size that fills a GPU, measured once per model, device,
    crop size, precision and flip test (cached).

    The batch doubles from 1 while the time per crop falls by more than
    ``gain`` and the forward pass fits in memory (an out-of-memory error
    stops the search at the last size that ran).

    Args:
        inferencer (BatchedTopdownInferencer): On a CUDA model.
        max_size (int): The largest size tried. Defaults to 256.
        gain (float): Smallest relative gain per doubling. Defaults to
            0.05.
        clock (callable): The timer. Defaults to ``time.perf_counter``.

    Returns:
        int: The batch size.
    """
    key = (str(inferencer.device), tuple(inferencer.geometry.input_size),
           inferencer.precision, inferencer.flip_test)
    cache = _measured.setdefault(inferencer.model, {})
    if key in cache:
        return cache[key]
    best_size, best_cost, size = 1, float('inf'), 1
    while size <= max_size:
        try:
            cost = measure_crop_cost(dict(run=inferencer.infer_crops),
                                     inferencer.geometry.input_size, [size],
                                     repeats=2, clock=clock)['run'][size]
        except torch.cuda.OutOfMemoryError:
            torch.cuda.empty_cache()
            break
        if cost > best_cost * (1 - gain):
            break
        best_size, best_cost = size, cost
        size *= 2
    torch.cuda.empty_cache()
    cache[key] = best_size
    return best_size


def auto_batch_size(inferencer) -> int:
    """The batch size of an inferencer built with ``batch_size=None``:
    :func:`cpu_batch_size` on the CPU, :func:`fill_device_batch_size` on
    CUDA (any other device: the CPU rule)."""
    if inferencer.device.type == 'cuda':
        return fill_device_batch_size(inferencer)
    return cpu_batch_size()


def compare_with_mmpose(model, people: Sequence[int] = (1, 2, 3),
                        images: int = 8, repeats: int = 3,
                        clock: Callable[[], float] = time.perf_counter
                        ) -> Dict[int, Tuple[float, float]]:
    """Seconds per image of mmpose's ``inference_topdown`` (one call per
    image: its boxes are one batch) and of :class:`BatchedTopdownInferencer`
    with its defaults (on a copy of the model) on the same images (random
    640x480 pictures) with 1, 2 or 3 boxes each; interleaved rounds, the
    fastest counts.

    Returns:
        dict: ``{people: (mmpose seconds, simdr_ext seconds)}``.
    """
    from mmpose.apis import inference_topdown

    from .batched_inferencer import BatchedTopdownInferencer
    rng = np.random.default_rng(0)
    pics = [rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
            for _ in range(images)]
    infer = BatchedTopdownInferencer(copy.deepcopy(model))
    best = {n: [float('inf'), float('inf')] for n in people}
    for round_ in range(repeats + 1):
        for n in people:
            boxes = [np.array([[40 + 150 * j, 60, 180 + 150 * j, 420]
                               for j in range(n)], np.float32)] * images
            runs = (lambda: [inference_topdown(model, p, b)
                             for p, b in zip(pics, boxes)],
                    lambda: infer(pics, boxes))
            for k, run in enumerate(runs):
                start = clock()
                run()
                if round_:
                    best[n][k] = min(best[n][k],
                                     (clock() - start) / images)
    return {n: tuple(v) for n, v in best.items()}


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog='python -m simdr_ext.apis.batch_size', description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='pose config')
    parser.add_argument('checkpoint', nargs='?', default=None,
                        help='weights (default: random)')
    parser.add_argument('--sizes', type=int, nargs='+',
                        default=[1, 2, 3, 4, 8, 16])
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--threads', type=int, default=None,
                        help='torch intra-op threads (default: torch\'s)')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--precision', default='fp32')
    parser.add_argument('--channels-last', action='store_true',
                        help='time the model in both memory formats '
                        '(default: the inferencer\'s choice)')
    parser.add_argument('--clock', choices=['wall', 'cpu'], default='wall',
                        help='cpu: CPU time of this process (with '
                        '--threads 1, the least disturbed by other '
                        'processes)')
    parser.add_argument('--compare-mmpose', action='store_true',
                        help='also time inference_topdown on images with '
                        '1-3 people against the default batch size')
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    import simdr_ext  # noqa: F401
    from mmpose.apis import init_model

    from .batched_inferencer import BatchedTopdownInferencer
    torch.manual_seed(0)
    model = init_model(args.config, args.checkpoint, device=args.device)
    w, h = BatchedTopdownInferencer(model, 1, channels_last=False
                                    ).geometry.input_size
    caps = dict(torch.cpu.get_capabilities()) if hasattr(
        torch.cpu, 'get_capabilities') else {}
    flags = [k for k in ('avx2', 'fma3', 'avx512_f', 'avx512_bf16',
                         'amx_bf16') if caps.get(k)]
    print(f'{args.config}: device {args.device}, {torch.get_num_threads()} '
          f'threads, CPU {caps.get("cpu_name", "?")} '
          f'({"/".join(flags) or "?"}), capability '
          f'{torch.backends.cpu.get_cpu_capability()}')
    layouts = [False, True] if args.channels_last else [None]
    infers = {}
    for channels_last in layouts:
        own = copy.deepcopy(model) if channels_last else model
        infers[f'{args.precision} channels_last={channels_last}'] = \
            BatchedTopdownInferencer(
                own, batch_size=1, precision=args.precision,
                channels_last=channels_last,
                allow_emulated_bf16=True).infer_crops
    clocks = dict(wall=time.perf_counter, cpu=time.process_time)
    costs = measure_crop_cost(infers, (w, h), args.sizes, args.repeats,
                              clocks[args.clock])
    for name, cost in costs.items():
        print(f'{name}: ms per crop ({args.clock} time, best of '
              f'{args.repeats}) by batch size: ' + '  '.join(
                  f'{b}: {c * 1e3:.1f}' for b, c in cost.items()))
    model.to(memory_format=torch.contiguous_format)
    if args.compare_mmpose:
        print(f'default batch size: '
              f'{BatchedTopdownInferencer(model).batch_size}')
        for n, (ref, ours) in compare_with_mmpose(
                model, repeats=args.repeats,
                clock=clocks[args.clock]).items():
            print(f'{n} people per image: inference_topdown '
                  f'{ref * 1e3:.1f} ms/image, BatchedTopdownInferencer '
                  f'{ours * 1e3:.1f} ms/image ({ref / ours:.2f}x)')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
