# Copyright (c) simdr_ext contributors. All rights reserved.
"""Top-down inference speed: mmpose's paths, the batched API, the ONNX
runtime and the forward-pass floor, then SimDR vs heatmap + DARK.

Every path runs on the same images and boxes (the bundled COCO people,
replicated to ``--num-crops``), interleaved in one run; the first table
gives crops/s and the ratios to mmpose's ``inference_topdown`` and to the
forward pass alone at the same batch size; the second compares SimDR
upsample-free ResNet-50 with heatmap ResNet-50 + DARK end to end through
the batched API. Each goal is printed as met or NOT met.

Example::

    python tools/analysis/benchmark_inference.py --threads 2
    python tools/analysis/benchmark_inference.py --sizes  # paths table only

CPU by default when no GPU is present; ``--device cuda --fp16`` on a GPU.

Paths, timed in interleaved rounds (every round runs each path once over
all crops, so a change of machine load hits every path alike):

- (a) mmpose ``inference_topdown``, looping over the images (all boxes of
  an image in one call, as mmpose batches them);
- (b) mmpose ``MMPoseInferencer`` with the boxes given, ``batch_size``
  images per call, no visualisation;
- (c) the batched API (:class:`BatchedTopdownInferencer`) at B = 1, 8, 32;
- (d) the ONNX runtime (:class:`simdr_runtime.OnnxPoseRuntime`, flip test in
  the graph), B = 8;
- (e) the forward pass alone at B = 1, 8, 32: preallocated normalised
  crops, ``extract_feat`` + ``head.forward``, twice with flip test (the
  floor any pipeline pays).

Every path sees the same flip setting (the config's). The images are the
bundled COCO pictures, decoded once and held in memory; the boxes are their
annotated people, replicated to ``num_crops``. A second table compares SimDR
upsample-free ResNet-50 with heatmap ResNet-50 + DARK decoding end to end
through the batched API at 64x64, 128x128 and 256x192 (SimDR Table 4's
models).

Thread counts are fixed (``torch.set_num_threads``, OpenCV, onnxruntime).

The batched API (path (c)) is
:class:`simdr_ext.apis.BatchedTopdownInferencer`: the same keypoints as
mmpose's ``inference_topdown`` without its per-box Python pipeline.
"""
import argparse
import copy
import os
import os.path as osp
import tempfile
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
from mmengine.config import Config
from mmengine.hub import get_config

import simdr_ext  # noqa: F401  (registers the modules)
from mmpose.apis import init_model
from simdr_ext.apis import BatchedTopdownInferencer
from simdr_ext.deploy import export_onnx
from simdr_ext.utils.cli import tool_parser

#: the repository (or, installed, ``simdr_ext/.mim``)
REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
COCO_DIR = osp.join(REPO, 'tests', 'data', 'coco')
DEFAULT_CONFIG = osp.join(
    REPO, 'configs', 'simdr', 'coco',
    'simdr_res50_wo-deconv_4xb32-140e_coco-256x192.py')


def dark_decoding(cfg: Config, blur_kernel_size: int = 11) -> Config:
    """A heatmap config decoded with DARK (same heatmaps, modulated Taylor).

    Replaces an ``MSRAHeatmap`` decoder by simdr_ext's ``DarkHeatmap`` with
    the same input size, heatmap size and sigma.

    Args:
        cfg (Config): A config whose ``model.head.decoder`` is MSRAHeatmap.
        blur_kernel_size (int): DARK's blur kernel. Defaults to 11.

    Returns:
        Config: A copy with ``decode_mode='dark'``.
    """
    cfg = copy.deepcopy(cfg)
    dec = cfg.model.head.decoder
    if dec['type'] != 'DarkHeatmap':
        cfg.model.head.decoder = dict(
            type='DarkHeatmap',
            input_size=dec['input_size'],
            heatmap_size=dec['heatmap_size'],
            sigma=dec['sigma'],
            unbiased=True,
            decode_mode='dark',
            blur_kernel_size=blur_kernel_size)
    return cfg


def build_model(config: str, device: str = 'cpu', dark: bool = False):
    """Build a model with random weights, nothing downloaded, eval mode
    (mmpose's ``init_model`` without a checkpoint).

    Args:
        config (str): Config file, or ``mmpose::REL`` for mmpose's
            ``.mim/configs/REL`` (mmengine's ``get_config``).
        device (str): Device. Defaults to ``'cpu'``.
        dark (bool): Decode heatmaps with DARK (:func:`dark_decoding`).
            Defaults to ``False``.

    Returns:
        nn.Module: The model (``cfg`` is the config used).
    """
    cfg = get_config(config) if config.startswith('mmpose::') \
        else Config.fromfile(config)
    if dark:
        cfg = dark_decoding(cfg)
    torch.manual_seed(0)
    return init_model(cfg, None, device=device)


def sync(device) -> None:
    if str(device).startswith('cuda'):
        torch.cuda.synchronize()


def coco_people(num_crops: int,
                ann_file: str = osp.join(COCO_DIR, 'test_coco.json')
                ) -> Tuple[List[np.ndarray], List[np.ndarray]]:
    """The bundled images (in memory) and their annotated people's xyxy
    boxes, each image's boxes repeated until there are ``num_crops`` boxes
    in all (rounded up to a whole repetition).

    Returns:
        tuple: images (H, W, 3) and boxes (M_i, 4), one per image.
    """
    from mmengine.fileio import load
    data = load(ann_file)
    boxes: Dict[int, List] = {}
    for ann in data['annotations']:
        if ann.get('num_keypoints', 0) > 0 and not ann.get('iscrowd', 0):
            x, y, w, h = ann['bbox']
            boxes.setdefault(ann['image_id'], []).append(
                [x, y, x + w, y + h])
    total = sum(len(b) for b in boxes.values())
    reps = max(1, -(-num_crops // total))
    images, out = [], []
    for img in data['images']:
        if img['id'] in boxes:
            images.append(cv2.imread(osp.join(COCO_DIR, img['file_name'])))
            out.append(np.tile(np.array(boxes[img['id']], np.float32),
                               (reps, 1)))
    return images, out


def inference_topdown_path(model, images, boxes) -> Callable[[], None]:
    """(a) mmpose ``inference_topdown`` over the images."""
    from mmpose.apis import inference_topdown

    def run() -> None:
        for img, bxs in zip(images, boxes):
            inference_topdown(model, img, bxs)

    return run


class _GivenBoxes:
    """Stands in for ``MMPoseInferencer``'s detector: returns the given
    boxes of each image (mmpose 1.3's ``Pose2DInferencer`` drops the
    ``bboxes`` argument in ``preprocess_single``, so boxes reach it only
    as a detector's output)."""

    def __init__(self, images, boxes) -> None:
        from mmdet.structures import DetDataSample
        from mmengine.structures import InstanceData
        self.by_image = {}
        for img, bxs in zip(images, boxes):
            sample = DetDataSample()
            sample.pred_instances = InstanceData(
                bboxes=torch.from_numpy(bxs),
                scores=torch.ones(len(bxs)),
                labels=torch.zeros(len(bxs), dtype=torch.long))
            self.by_image[id(img)] = sample

    def __call__(self, img, **kwargs) -> Dict:
        return dict(predictions=[self.by_image[id(img)]])


def mmpose_inferencer_path(model, images, boxes,
                           batch_size: int) -> Callable[[], None]:
    """(b) ``MMPoseInferencer``'s top-down engine on the same model, the
    boxes given as its detector's output (no NMS: threshold 1)."""
    from mmpose.apis.inferencers import Pose2DInferencer
    inferencer = Pose2DInferencer(model=model.cfg, weights=None,
                                  device=str(next(model.parameters()).device),
                                  det_model='whole_image')
    inferencer.model = model
    inferencer.detector = _GivenBoxes(images, boxes)
    inferencer.det_cat_ids = (0, )

    def run() -> None:
        for _ in inferencer(images, batch_size=batch_size, bbox_thr=0.0,
                            nms_thr=1.0, return_vis=False):
            pass

    return run


def batched_path(model, images, boxes, batch_size: int,
                 fp16: bool = False) -> Callable[[], None]:
    """(c) the batched API."""
    infer = BatchedTopdownInferencer(model, batch_size, fp16=fp16)

    def run() -> None:
        infer(images, boxes)
        sync(infer.device)

    return run


def onnx_path(model, images, boxes, batch_size: int, threads: int,
              folder: str) -> Callable[[], None]:
    """(d) the ONNX runtime, flip test (as the config says) in the
    graph."""
    from simdr_runtime import OnnxPoseRuntime

    onnx_file = osp.join(folder, 'model.onnx')
    export_onnx(copy.deepcopy(model), onnx_file, flip_test=None)
    runtime = OnnxPoseRuntime(onnx_file, batch_size, num_threads=threads)

    def run() -> None:
        runtime(images, boxes)

    return run


def forward_path(model, num_crops: int, batch_size: int,
                 flip_test: bool) -> Callable[[], None]:
    """(e) ``extract_feat`` + ``head.forward`` on preallocated crops, in
    batches of ``batch_size``, twice with flip test."""
    w, h = model.cfg.codec['input_size']
    device = next(model.parameters()).device
    x = torch.randn(batch_size, 3, h, w, device=device)
    batches = [min(batch_size, num_crops - i)
               for i in range(0, num_crops, batch_size)]

    def run() -> None:
        for n in batches:
            model.head.forward(model.extract_feat(x[:n]))
            if flip_test:
                model.head.forward(model.extract_feat(x[:n].flip(-1)))
        sync(device)

    return run


@torch.inference_mode()
def interleaved_seconds(paths: Sequence[Callable[[], None]],
                        rounds: int = 2,
                        warmup: int = 1) -> List[float]:
    """Total seconds of each path over ``rounds`` interleaved rounds.

    Args:
        paths (Sequence[callable]): ``run()`` closures (one pass over all
            crops each).
        rounds (int): Timed rounds. Defaults to 2.
        warmup (int): Untimed passes of each path first. Defaults to 1.

    Returns:
        list[float]: Seconds per pass, one per path.
    """
    for run in paths:
        for _ in range(warmup):
            run()
    totals = [0.0] * len(paths)
    for _ in range(rounds):
        for k, run in enumerate(paths):
            start = time.perf_counter()
            run()
            totals[k] += time.perf_counter() - start
    return [t / rounds for t in totals]


def set_threads(threads: int) -> None:
    torch.set_num_threads(threads)
    cv2.setNumThreads(threads)


def load_average() -> str:
    """The 1/5/15-minute load averages and the CPU count, as text."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return 'load unknown'
    return (f'load average {one:.1f} / {five:.1f} / {fifteen:.1f} on '
            f'{os.cpu_count()} CPUs')


def benchmark_paths(config: str = DEFAULT_CONFIG,
                    num_crops: int = 36,
                    threads: int = 2,
                    device: Optional[str] = None,
                    rounds: int = 2,
                    batch_sizes: Sequence[int] = (1, 8, 32),
                    inferencer_batch: int = 4,
                    fp16: bool = False) -> Dict:
    """Time paths (a)-(e) for one config.

    Args:
        config (str): Pose config (random weights).
        num_crops (int): Crops per pass (at least; whole repetitions of
            the bundled people). Defaults to 36.
        threads (int): CPU threads. Defaults to 2.
        device (str, optional): ``'cpu'`` or ``'cuda'``; ``None`` picks
            CUDA when present.
        rounds (int): Interleaved rounds. Defaults to 2.
        batch_sizes (Sequence[int]): B of (c) and (e).
        inferencer_batch (int): Images per ``MMPoseInferencer`` call.
        fp16 (bool): Also time (c) at the largest B under CUDA autocast.

    Returns:
        dict: ``rows`` (path, batch, crops/s, ms per crop), ``goals``
        (name, measured, target, met) and the run's settings.
    """
    if device is None:
        device = 'cuda' if torch.cuda.is_available() else 'cpu'
    set_threads(threads)
    model = build_model(config, device)
    flip = bool((model.test_cfg or {}).get('flip_test', False))
    images, boxes = coco_people(num_crops)
    crops = sum(len(b) for b in boxes)
    names: List[Tuple[str, str]] = []
    paths: List[Callable] = []

    def add(name: str, batch: str, run: Callable) -> None:
        names.append((name, batch))
        paths.append(run)

    add('(a) mmpose inference_topdown', 'per image',
        inference_topdown_path(model, images, boxes))
    add('(b) mmpose MMPoseInferencer', f'{inferencer_batch} images',
        mmpose_inferencer_path(model, images, boxes, inferencer_batch))
    for b in batch_sizes:
        add('(c) batched API', str(b), batched_path(model, images, boxes, b))
    if fp16 and device.startswith('cuda'):
        add('(c) batched API, fp16 autocast', str(max(batch_sizes)),
            batched_path(model, images, boxes, max(batch_sizes), True))
    with tempfile.TemporaryDirectory() as folder:
        if device == 'cpu':
            add('(d) ONNX runtime', '8',
                onnx_path(model, images, boxes, 8, threads, folder))
        for b in batch_sizes:
            add('(e) forward only (floor)', str(b),
                forward_path(model, crops, b, flip))
        seconds = interleaved_seconds(paths, rounds)
    rows = [
        dict(path=n, batch=b, crops_per_s=crops / s, ms_per_crop=s / crops *
             1e3) for (n, b), s in zip(names, seconds)
    ]
    by = {(r['path'], r['batch']): r['crops_per_s'] for r in rows}
    base = by[('(a) mmpose inference_topdown', 'per image')]
    for r in rows:
        r['vs_a'] = r['crops_per_s'] / base
        floor = by.get(('(e) forward only (floor)', r['batch']))
        r['vs_floor'] = r['crops_per_s'] / floor if floor else None
    goals = []
    for b in batch_sizes:
        c = by[('(c) batched API', str(b))]
        e = by[('(e) forward only (floor)', str(b))]
        if device == 'cpu':
            goals.append(
                dict(goal=f'(c) within 5% of the floor (e), B = {b}',
                     measured=f'{c / e:.3f} of (e)', met=c >= 0.95 * e))
    best = max(by[('(c) batched API', str(b))] for b in batch_sizes)
    target = 3.0 if device.startswith('cuda') else 1.1
    goals.append(
        dict(goal=f'(c) >= {target}x (a) (best B)',
             measured=f'{best / base:.2f}x', met=best >= target * base))
    return dict(rows=rows, goals=goals, config=config, crops=crops,
                images=len(images), flip_test=flip, threads=threads,
                device=device, rounds=rounds, load=load_average())


def table4_entries(sizes=('64x64', '128x128', '256x192')) -> List[Dict]:
    """SimDR Table 4's ResNet-50 pair at each size."""
    cfg = osp.join(REPO, 'configs')
    entries = []
    for size in sizes:
        entries.append(
            dict(size=size,
                 heatmap=osp.join(cfg, 'heatmap', 'coco',
                                  f'heatmap_res50_4xb32-140e_coco-{size}.py'),
                 simdr=osp.join(
                     cfg, 'simdr', 'coco',
                     f'simdr_res50_wo-deconv_4xb32-140e_coco-{size}.py')))
    return entries


def benchmark_representations(sizes=('64x64', '128x128', '256x192'),
                              num_crops: int = 36,
                              threads: int = 2,
                              device: Optional[str] = None,
                              rounds: int = 2,
                              batch_size: int = 8) -> Dict:
    """Heatmap ResNet-50 + DARK against SimDR ResNet-50 upsample-free, end
    to end through the batched API, interleaved per size.

    Returns:
        dict: ``rows`` (size, model, crops/s, ratio) and ``goals``.
    """
    if device is None:
        device = 'cuda' if torch.cuda.is_available() else 'cpu'
    set_threads(threads)
    images, boxes = coco_people(num_crops)
    crops = sum(len(b) for b in boxes)
    rows, goals = [], []
    for entry in table4_entries(sizes):
        heat = build_model(entry['heatmap'], device, dark=True)
        simdr = build_model(entry['simdr'], device)
        t_heat, t_simdr = interleaved_seconds([
            batched_path(heat, images, boxes, batch_size),
            batched_path(simdr, images, boxes, batch_size)
        ], rounds)
        ratio = t_heat / t_simdr
        rows += [
            dict(size=entry['size'], model='heatmap Res50 + DARK',
                 crops_per_s=crops / t_heat, ratio=1.0),
            dict(size=entry['size'], model='SimDR Res50 upsample-free',
                 crops_per_s=crops / t_simdr, ratio=ratio)
        ]
        goals.append(
            dict(goal=f'SimDR upsample-free >= 1.5x heatmap + DARK, '
                 f'{entry["size"]}', measured=f'{ratio:.2f}x',
                 met=ratio >= 1.5))
        del heat, simdr
    return dict(rows=rows, goals=goals, crops=crops, batch_size=batch_size,
                threads=threads, device=device, load=load_average())


def format_paths(result: Dict) -> str:
    """Markdown table of :func:`benchmark_paths`."""
    lines = [
        '| path | batch | crops/s | ms/crop | x (a) | x floor (e), same B |',
        '|---|---|---:|---:|---:|---:|'
    ]
    for r in result['rows']:
        floor = '' if r['vs_floor'] is None else f'{r["vs_floor"]:.3f}'
        lines.append(f'| {r["path"]} | {r["batch"]} | '
                     f'{r["crops_per_s"]:.2f} | {r["ms_per_crop"]:.1f} | '
                     f'{r["vs_a"]:.2f} | {floor} |')
    return '\n'.join(lines)


def format_representations(result: Dict) -> str:
    """Markdown table of :func:`benchmark_representations`."""
    lines = ['| input | model | crops/s | x heatmap + DARK |',
             '|---|---|---:|---:|']
    for r in result['rows']:
        lines.append(f'| {r["size"]} | {r["model"]} | '
                     f'{r["crops_per_s"]:.2f} | {r["ratio"]:.2f} |')
    return '\n'.join(lines)


def format_goals(goals: Sequence[Dict]) -> str:
    """One line per goal: met / NOT met, with the measured value."""
    return '\n'.join(
        f'- {g["goal"]}: {g["measured"]} — '
        f'{"met" if g["met"] else "NOT met"}' for g in goals)


def build_parser() -> argparse.ArgumentParser:
    """The command line: the module docstring is its description, its
    example the epilog."""
    parser = tool_parser(__doc__)
    parser.add_argument('--config', default=DEFAULT_CONFIG,
                        help='model of the paths table (random weights)')
    parser.add_argument('--num-crops', type=int, default=36,
                        help='crops per pass: the bundled people replicated')
    parser.add_argument('--threads', type=int, default=2,
                        help='torch, OpenCV and onnxruntime threads')
    parser.add_argument('--rounds', type=int, default=2,
                        help='interleaved rounds (each times every path '
                        'once)')
    parser.add_argument('--device', default=None,
                        help='cpu or cuda (without it: cuda where present)')
    parser.add_argument('--fp16', action='store_true',
                        help='also time CUDA autocast (GPU only)')
    parser.add_argument('--sizes', nargs='*',
                        default=['64x64', '128x128', '256x192'],
                        help='sizes of the SimDR vs heatmap table (none: '
                        'skip it)')
    return parser


def main(argv=None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.num_crops < 1 or args.threads < 1 or args.rounds < 1:
        parser.error('--num-crops, --threads and --rounds must be >= 1')
    paths = benchmark_paths(args.config, args.num_crops, args.threads,
                            args.device, args.rounds, fp16=args.fp16)
    shown = paths['config']
    if shown.startswith(REPO + osp.sep):
        shown = osp.relpath(shown, REPO)
    print(f'# Top-down inference paths: {shown}\n')
    print(f'{paths["crops"]} crops per pass over {paths["images"]} images, '
          f'flip test {paths["flip_test"]}, {paths["rounds"]} interleaved '
          f'rounds, {paths["threads"]} thread(s), device {paths["device"]}, '
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
