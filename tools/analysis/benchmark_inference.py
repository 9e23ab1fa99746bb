# Copyright (c) simdr_ext contributors. All rights reserved.
"""Top-down inference speed per path and precision against this CPU's
arithmetic limit, then SimDR vs heatmap + DARK.

Every path runs on the same images and boxes (the bundled COCO people,
replicated to ``--num-crops``) with the same flip setting (the config's),
interleaved in one run. The first table is this CPU's sustained
GEMM/convolution rate per precision (``tools/analysis/gemm_rate.py``); the
second gives, per path and precision, crops/s, the ratios to mmpose's
``inference_topdown`` and to the forward pass alone at the same batch
size, the achieved GFLOP/s and its fraction of the GEMM rate of that
precision; the third compares the API's default batch size with
``inference_topdown`` on images with 1-3 people; the fourth compares SimDR
upsample-free ResNet-50 with heatmap ResNet-50 + DARK end to end through
the batched API against their GFLOPs ratio. Each goal is
printed as met or NOT met; a row that cannot run here is printed with the
reason.

Example::

    python tools/analysis/benchmark_inference.py --threads 2
    python tools/analysis/benchmark_inference.py --sizes  # no third table

CPU by default when no GPU is present; ``--device cuda --fp16`` on a GPU.

Paths, timed in interleaved rounds (every round runs each path once over
all crops, so a change of machine load hits every path alike):

- (a) mmpose ``inference_topdown``, float32, looping over the images (all
  boxes of an image in one call, as mmpose batches them);
- (b) mmpose ``MMPoseInferencer`` with the boxes given, ``batch_size``
  images per call, no visualisation;
- (c) the batched API (:class:`BatchedTopdownInferencer`): float32 at
  B = 1, 8, 32 and at its default batch size (``batch_size=None``), and
  ``precision='bf16'`` at B = 8 (the API refuses bfloat16 on a CPU
  without native bfloat16: the row then prints the refusal);
- (d) the ONNX runtime (:class:`simdr_runtime.OnnxPoseRuntime`, flip test
  in the graph), B = 8: the float32 export, the fp16 export and the int8
  export of ``tools/deploy/export_onnx.py`` (``precision='int8'``);
- (e) the forward pass alone, float32, at B = 1, 8, 32: preallocated
  normalised crops, ``extract_feat`` + ``head.forward``, twice with flip
  test (the floor any PyTorch pipeline pays).

The achieved rate of a row is the network's operations per crop (2 x the
multiply-adds of its convolutions and linear layers, ``count_ops`` of
``tools/analysis/model_table.py``) x crops/s x 2 with flip test; the GEMM
rate counts 2 operations per multiply-add too. Goals: the fastest shipped
CPU path ((c) or (d) at batch 8) >= 3x (a); bf16 (c) >= 1.7x float32 (c);
int8 (d) >= 1.5x float32 (d); the API's default >= 1.0x (a) on images
with 1-3 people; SimDR >= 0.95x the heatmap/SimDR multiply-add ratio at
each size.

Thread counts are fixed (``torch.set_num_threads``, OpenCV, onnxruntime).
"""
import argparse
import copy
import importlib
import importlib.util
import os
import os.path as osp
import sys
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
#: the goals (see the module docstring)
SHIPPED_TARGET = 3.0
BF16_TARGET = 1.7
INT8_TARGET = 1.5
FEW_PEOPLE_TARGET = 1.0
GFLOPS_RATIO_FRACTION = 0.95


def tool_module(rel: str):
    """Another script of ``tools/`` as a module, by its path under
    ``tools/`` (e.g. ``'analysis/gemm_rate.py'``): imported as
    ``tools.analysis.gemm_rate`` where the repository's ``tools`` package
    is importable, else loaded from its file."""
    name = 'tools.' + rel[:-3].replace('/', '.')
    if name in sys.modules:
        return sys.modules[name]
    path = osp.join(REPO, 'tools', rel)
    try:
        module = importlib.import_module(name)
        if osp.abspath(module.__file__) == path:
            return module
    except ImportError:
        pass
    alias = 'simdr_tools_' + rel[:-3].replace('/', '_')
    if alias not in sys.modules:
        spec = importlib.util.spec_from_file_location(alias, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[alias] = module
    return sys.modules[alias]


def gemm_rates(threads: int) -> Dict:
    """``rates(threads)`` of ``tools/analysis/gemm_rate.py``."""
    return tool_module('analysis/gemm_rate.py').rates(threads)


def model_gflops(model) -> float:
    """Operations of one crop through the network (no flip): 2 x the
    multiply-adds of convolutions and linear layers (``count_ops`` of
    ``tools/analysis/model_table.py``, mmengine's count), in 1e9.

    Args:
        model (nn.Module): A top-down model with ``cfg``.

    Returns:
        float: GFLOP per crop and forward pass.
    """
    table = tool_module('analysis/model_table.py')
    w, h = model.cfg.codec['input_size']
    device = next(model.parameters()).device
    gmacs, _ = table.count_ops(table.TensorForward(model),
                               torch.zeros(1, 3, h, w, device=device))
    return 2.0 * gmacs


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


def batched_runner(model, batch_size: Optional[int],
                   precision: str = 'fp32') -> Callable:
    """The batched API as ``run(images, boxes)``.

    Args:
        model (nn.Module): The model.
        batch_size (int, optional): Crops per forward pass; ``None``: the
            API's default.
        precision (str): ``'fp32'``, ``'bf16'`` or ``'fp16'``; anything but
            ``'fp32'`` needs an API with ``precision=``.

    Returns:
        callable: ``run(images, boxes)``; ``run.infer`` is the inferencer.
    """
    if precision == 'fp32':
        infer = BatchedTopdownInferencer(model, batch_size)
    else:
        infer = BatchedTopdownInferencer(model, batch_size,
                                         precision=precision)

    def run(images, boxes) -> None:
        infer(images, boxes)
        sync(infer.device)

    run.infer = infer
    return run


def batched_path(model, images, boxes, batch_size: Optional[int],
                 precision: str = 'fp32') -> Callable[[], None]:
    """(c) the batched API over ``images``."""
    run = batched_runner(model, batch_size, precision)
    return lambda: run(images, boxes)


def onnx_runner(onnx_file: str, batch_size: int, threads: int) -> Callable:
    """An exported model in :class:`simdr_runtime.OnnxPoseRuntime` as
    ``run(images, boxes)``."""
    from simdr_runtime import OnnxPoseRuntime
    runtime = OnnxPoseRuntime(onnx_file, batch_size, num_threads=threads)

    def run(images, boxes) -> None:
        runtime(images, boxes)

    return run


def export_model(model, config: str, precision: str, folder: str) -> str:
    """The ``.onnx`` of ``precision`` with the config's flip test in the
    graph: ``export_onnx`` of this model for ``'fp32'`` / ``'fp16'``,
    ``export_and_check(..., precision='int8')`` of
    ``tools/deploy/export_onnx.py`` for ``'int8'`` (initial weights: the
    speed does not depend on them)."""
    onnx_file = osp.join(folder, f'model_{precision}.onnx')
    if precision == 'int8':
        tool = tool_module('deploy/export_onnx.py')
        tool.export_and_check(config, None, onnx_file, flip_test=None,
                              precision='int8')
    else:
        export_onnx(copy.deepcopy(model), onnx_file, flip_test=None,
                    precision=precision)
    return onnx_file


def onnx_path(model, images, boxes, batch_size: int, threads: int,
              folder: str, precision: str = 'fp32',
              config: Optional[str] = None) -> Callable[[], None]:
    """(d) the ONNX runtime, flip test (as the config says) in the
    graph."""
    run = onnx_runner(
        export_model(model, config or model.cfg.filename, precision,
                     folder), batch_size, threads)
    return lambda: run(images, boxes)


def forward_path(model, num_crops: int, batch_size: int,
                 flip_test: bool) -> Callable[[], None]:
    """(e) ``extract_feat`` + ``head.forward`` on preallocated crops (and
    their preallocated mirror images with flip test), in batches of
    ``batch_size``; the crops in the
    memory format of the model's weights (channels-last after the batched
    API converted them, as the API feeds it)."""
    w, h = model.cfg.codec['input_size']
    weight = next(model.parameters())
    x = torch.randn(batch_size, 3, h, w, device=weight.device)
    layout = torch.channels_last if weight.dim() == 4 and \
        weight.is_contiguous(memory_format=torch.channels_last) \
        else torch.contiguous_format
    x = x.contiguous(memory_format=layout)
    flipped = x.flip(-1).contiguous(memory_format=layout)
    device = weight.device
    batches = [min(batch_size, num_crops - i)
               for i in range(0, num_crops, batch_size)]

    def run() -> None:
        for n in batches:
            model.head.forward(model.extract_feat(x[:n]))
            if flip_test:
                model.head.forward(model.extract_feat(flipped[:n]))
        sync(device)

    return run


def try_runner(make: Callable[[], Callable], images,
               boxes) -> Tuple[Optional[Callable], Optional[str]]:
    """Build an optional path and run it once on the first box of the
    first image.

    Returns:
        tuple: ``(run, None)``, or ``(None, reason)`` where building or
        running it failed (a refusal, or an API or export this tree does
        not have), the reason being the error's type and message.
    """
    try:
        run = make()
        with torch.inference_mode():
            run(images[:1], [boxes[0][:1]])
        return run, None
    except Exception as err:  # printed as the row's reason, not hidden
        return None, f'{type(err).__name__}: ' + ' '.join(
            str(err).split())[:300]


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


def few_people(num_crops: int) -> Tuple[List[np.ndarray], List[np.ndarray]]:
    """Images with 1, 2 or 3 people each: every bundled image once with
    its first box, once with its first two and once with its first three
    (where it has that many), repeated until there are ``num_crops`` boxes
    (whole repetitions).

    Returns:
        tuple: images (H, W, 3) and their boxes (1-3, 4).
    """
    images, boxes = coco_people(1)
    pairs = [(img, bxs[:k]) for img, bxs in zip(images, boxes)
             for k in (1, 2, 3) if k <= len(bxs)]
    per_set = sum(len(b) for _, b in pairs)
    pairs = pairs * max(1, -(-num_crops // per_set))
    return [p[0] for p in pairs], [p[1] for p in pairs]


def row_rate(row: Dict, gflop_per_crop: float, flips: int,
             peaks: Dict) -> None:
    """Add the achieved GFLOP/s of a row and its fraction of the GEMM rate
    of its precision (``None`` where there is no rate)."""
    row['gflops'] = gflop_per_crop * flips * row['crops_per_s']
    peak = peaks.get(row['precision'])
    row['of_peak'] = row['gflops'] / peak if peak else None


def goal(name: str, measured: str, met: bool) -> Dict:
    return dict(goal=name, measured=measured, met=bool(met))


def benchmark_paths(config: str = DEFAULT_CONFIG,
                    num_crops: int = 36,
                    threads: int = 2,
                    device: Optional[str] = None,
                    rounds: int = 2,
                    batch_sizes: Sequence[int] = (1, 8, 32),
                    inferencer_batch: int = 4,
                    fp16: bool = False,
                    peaks: Optional[Dict] = None) -> Dict:
    """Time paths (a)-(e) for one config, every precision, then the API's
    default against (a) on images with 1-3 people.

    Args:
        config (str): Pose config (random weights).
        num_crops (int): Crops per pass (at least; whole repetitions of
            the bundled people). Defaults to 36.
        threads (int): CPU threads. Defaults to 2.
        device (str, optional): ``'cpu'`` or ``'cuda'``; ``None`` picks
            CUDA when present.
        rounds (int): Interleaved rounds. Defaults to 2.
        batch_sizes (Sequence[int]): B of the float32 (c) and (e); 8 must
            be among them for the goals.
        inferencer_batch (int): Images per ``MMPoseInferencer`` call.
        fp16 (bool): Also time (c) at the largest B under CUDA autocast.
        peaks (dict, optional): GFLOP/s per precision (``best`` of
            ``gemm_rate.rates``); ``None``: no fraction column.

    Returns:
        dict: ``rows`` (path, precision, batch, crops/s, ms per crop,
        ratios, GFLOP/s, fraction of the GEMM rate), ``skipped`` (rows
        that could not run, with the reason), ``few`` (the 1-3 people
        rows), ``goals`` (name, measured, met), ``gflop_per_crop`` and the
        run's settings.
    """
    if device is None:
        device = 'cuda' if torch.cuda.is_available() else 'cpu'
    cpu = device == 'cpu'
    set_threads(threads)
    model = build_model(config, device)
    # mmpose's paths and the exports take the model as init_model gives
    # it; the batched API (which may convert its model's memory format in
    # place) and its floor (e) take a copy
    api_model = copy.deepcopy(model)
    flip = bool((model.test_cfg or {}).get('flip_test', False))
    images, boxes = coco_people(num_crops)
    crops = sum(len(b) for b in boxes)
    few_images, few_boxes = few_people(num_crops)
    few_crops = sum(len(b) for b in few_boxes)
    peaks = peaks or {}
    gflop_per_crop = model_gflops(model)
    names: List[Dict] = []
    paths: List[Callable] = []
    skipped: List[Dict] = []

    def add(name: str, precision: str, batch: str, run: Callable,
            shipped: bool = False) -> None:
        names.append(dict(path=name, precision=precision, batch=batch,
                          shipped=shipped))
        paths.append(run)

    def add_optional(name: str, precision: str, batch: str,
                     make: Callable, shipped: bool = True) -> None:
        run, reason = try_runner(make, images, boxes)
        if run is None:
            skipped.append(dict(path=name, precision=precision, batch=batch,
                                reason=reason))
            return
        if hasattr(run, 'infer') and batch == 'auto':
            batch = f'auto ({run.infer.batch_size})'
        add(name, precision, batch, lambda: run(images, boxes), shipped)

    add('(a) mmpose inference_topdown', 'fp32', 'per image',
        inference_topdown_path(model, images, boxes))
    add('(b) mmpose MMPoseInferencer', 'fp32', f'{inferencer_batch} images',
        mmpose_inferencer_path(model, images, boxes, inferencer_batch))
    for b in batch_sizes:
        add('(c) batched API', 'fp32', str(b),
            batched_path(api_model, images, boxes, b), shipped=True)
    add_optional('(c) batched API, default batch', 'fp32', 'auto',
                 lambda: batched_runner(api_model, None))
    add_optional('(c) batched API', 'bf16', '8',
                 lambda: batched_runner(api_model, 8, 'bf16'))
    if fp16 and device.startswith('cuda'):
        add_optional('(c) batched API', 'fp16', str(max(batch_sizes)),
                     lambda: batched_runner(api_model, max(batch_sizes),
                                            'fp16'))
    with tempfile.TemporaryDirectory() as folder:
        if cpu:
            for precision in ('fp32', 'fp16', 'int8'):
                add_optional(
                    '(d) ONNX runtime', precision, '8',
                    lambda precision=precision: onnx_runner(
                        export_model(model, config, precision, folder), 8,
                        threads))
        for b in batch_sizes:
            add('(e) forward only (floor)', 'fp32', str(b),
                forward_path(api_model, crops, b, flip))
        seconds = interleaved_seconds(paths, rounds)
        few_rows, few_skipped = time_few_people(model, few_images,
                                                few_boxes, rounds,
                                                api_model)
    flips = 2 if flip else 1
    rows = []
    for info, s in zip(names, seconds):
        row = dict(info, crops_per_s=crops / s, ms_per_crop=s / crops * 1e3)
        row_rate(row, gflop_per_crop, flips, peaks)
        rows.append(row)
    by = {(r['path'], r['precision'], r['batch']): r['crops_per_s']
          for r in rows}
    base = by[('(a) mmpose inference_topdown', 'fp32', 'per image')]
    for r in rows:
        r['vs_a'] = r['crops_per_s'] / base
        floor = by.get(('(e) forward only (floor)', 'fp32', r['batch']))
        r['vs_floor'] = r['crops_per_s'] / floor if floor else None
    few = []
    for r in few_rows:
        r = dict(r, crops_per_s=few_crops / r.pop('seconds'))
        few.append(r)
    for r in few:
        r['vs_a'] = r['crops_per_s'] / few[0]['crops_per_s']
    goals = path_goals(rows, skipped, few, few_skipped, batch_sizes, cpu,
                       peaks)
    return dict(rows=rows, skipped=skipped + few_skipped, few=few,
                few_crops=few_crops, few_images=len(few_images),
                goals=goals, config=config, crops=crops,
                images=len(images), flip_test=flip, threads=threads,
                device=device, rounds=rounds,
                gflop_per_crop=gflop_per_crop, load=load_average())


def time_few_people(model, images, boxes, rounds: int,
                    api_model=None) -> Tuple[List[Dict], List[Dict]]:
    """(a) with ``model`` against the API's default (``batch_size=None``)
    with ``api_model`` (default: ``model``) on images with 1-3 people,
    interleaved.

    Returns:
        tuple: rows (``path``, ``batch``, ``seconds``; (a) first) and the
        skipped rows with their reasons.
    """
    top = inference_topdown_path(model, images, boxes)
    rows = [dict(path='(a) mmpose inference_topdown', batch='per image')]
    paths = [top]
    skipped = []
    api_model = model if api_model is None else api_model
    run, reason = try_runner(lambda: batched_runner(api_model, None), images,
                             boxes)
    name = '(c) batched API, default batch, 1-3 people'
    if run is None:
        skipped.append(dict(path=name, precision='fp32', batch='auto',
                            reason=reason))
    else:
        rows.append(dict(path='(c) batched API, default batch',
                         batch=f'auto ({run.infer.batch_size})'))
        paths.append(lambda: run(images, boxes))
    for row, s in zip(rows, interleaved_seconds(paths, rounds)):
        row['seconds'] = s
    return rows, skipped


def path_goals(rows, skipped, few, few_skipped, batch_sizes, cpu: bool,
               peaks: Dict) -> List[Dict]:
    """The goals of the paths tables (see the module docstring)."""
    by = {(r['path'], r['precision'], r['batch']): r for r in rows}
    why = {(s['path'], s['precision']): s['reason'] for s in skipped}
    base = by[('(a) mmpose inference_topdown', 'fp32', 'per image')]
    goals = []
    for b in batch_sizes:
        c = by[('(c) batched API', 'fp32', str(b))]['crops_per_s']
        e = by[('(e) forward only (floor)', 'fp32', str(b))]['crops_per_s']
        if cpu:
            goals.append(goal(f'(c) within 5% of the floor (e), B = {b}',
                              f'{c / e:.3f} of (e)', c >= 0.95 * e))
    shipped = [r for r in rows if r['shipped'] and
               (r['batch'] == '8' or r['batch'].startswith('auto'))]
    if shipped:
        best = max(shipped, key=lambda r: r['crops_per_s'])
        ratio = best['crops_per_s'] / base['crops_per_s']
        goals.append(goal(
            f'fastest shipped path at batch 8 >= {SHIPPED_TARGET}x (a)',
            f'{ratio:.2f}x ({best["path"]}, {best["precision"]}, '
            f'B = {best["batch"]})', ratio >= SHIPPED_TARGET))

    def versus(name, target, key, ref_key, note=''):
        row, ref = by.get(key), by.get(ref_key)
        if row is None or ref is None:
            reason = why.get(key[:2], 'not timed')
            goals.append(goal(name, f'not measured ({reason}){note}',
                              False))
            return
        ratio = row['crops_per_s'] / ref['crops_per_s']
        goals.append(goal(name, f'{ratio:.2f}x{note}', ratio >= target))

    def gemm_note(precision):
        if peaks.get(precision) and peaks.get('fp32'):
            return (f'; GEMM rate {precision} / fp32 on this CPU: '
                    f'{peaks[precision]:.1f} / {peaks["fp32"]:.1f} = '
                    f'{peaks[precision] / peaks["fp32"]:.2f}x')
        return ''

    versus(f'bf16 (c) >= {BF16_TARGET}x fp32 (c), B = 8', BF16_TARGET,
           ('(c) batched API', 'bf16', '8'),
           ('(c) batched API', 'fp32', '8'), gemm_note('bf16'))
    if cpu:
        versus(f'int8 (d) >= {INT8_TARGET}x fp32 (d), B = 8', INT8_TARGET,
               ('(d) ONNX runtime', 'int8', '8'),
               ('(d) ONNX runtime', 'fp32', '8'), gemm_note('int8'))
    name = (f'API default >= {FEW_PEOPLE_TARGET}x (a) on images with 1-3 '
            'people')
    if len(few) > 1:
        goals.append(goal(name, f'{few[1]["vs_a"]:.2f}x',
                          few[1]['vs_a'] >= FEW_PEOPLE_TARGET))
    else:
        reason = few_skipped[0]['reason'] if few_skipped else 'not timed'
        goals.append(goal(name, f'not measured ({reason})', False))
    return goals


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
    to end through the batched API, interleaved per size; the goal is
    :data:`GFLOPS_RATIO_FRACTION` of the two networks' operation ratio
    (:func:`model_gflops`; same backbone, the heads differ).

    Returns:
        dict: ``rows`` (size, model, GFLOP per crop, crops/s, ratio,
        operation ratio) and ``goals``.
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
        g_heat, g_simdr = model_gflops(heat), model_gflops(simdr)
        t_heat, t_simdr = interleaved_seconds([
            batched_path(heat, images, boxes, batch_size),
            batched_path(simdr, images, boxes, batch_size)
        ], rounds)
        ratio, ops_ratio = t_heat / t_simdr, g_heat / g_simdr
        target = GFLOPS_RATIO_FRACTION * ops_ratio
        rows += [
            dict(size=entry['size'], model='heatmap Res50 + DARK',
                 gflop=g_heat, crops_per_s=crops / t_heat, ratio=1.0,
                 ops_ratio=1.0),
            dict(size=entry['size'], model='SimDR Res50 upsample-free',
                 gflop=g_simdr, crops_per_s=crops / t_simdr, ratio=ratio,
                 ops_ratio=ops_ratio)
        ]
        goals.append(goal(
            f'SimDR upsample-free >= {GFLOPS_RATIO_FRACTION} x the GFLOPs '
            f'ratio ({ops_ratio:.2f}) = {target:.2f}x heatmap + DARK, '
            f'{entry["size"]}', f'{ratio:.2f}x', ratio >= target))
        del heat, simdr
    return dict(rows=rows, goals=goals, crops=crops, batch_size=batch_size,
                threads=threads, device=device, load=load_average())


def _num(value: Optional[float], spec: str) -> str:
    return '' if value is None else format(value, spec)


def format_paths(result: Dict) -> str:
    """Markdown table of :func:`benchmark_paths` (rows that could not run
    last, with the reason)."""
    lines = [
        '| path | precision | batch | crops/s | ms/crop | x (a) | '
        'x floor (e), same B | GFLOP/s | of GEMM rate |',
        '|---|---|---|---:|---:|---:|---:|---:|---:|'
    ]
    for r in result['rows']:
        lines.append(
            f'| {r["path"]} | {r["precision"]} | {r["batch"]} | '
            f'{r["crops_per_s"]:.2f} | {r["ms_per_crop"]:.1f} | '
            f'{r["vs_a"]:.2f} | {_num(r["vs_floor"], ".3f")} | '
            f'{r["gflops"]:.1f} | {_num(r["of_peak"], ".2f")} |')
    for s in result['skipped']:
        lines.append(f'| {s["path"]} | {s["precision"]} | {s["batch"]} | '
                     f'not run: {s["reason"]} | | | | | |')
    return '\n'.join(lines)


def format_few(result: Dict) -> str:
    """Markdown table of the 1-3 people rows of :func:`benchmark_paths`."""
    lines = ['| path | batch | crops/s | x (a) |', '|---|---|---:|---:|']
    for r in result['few']:
        lines.append(f'| {r["path"]} | {r["batch"]} | '
                     f'{r["crops_per_s"]:.2f} | {r["vs_a"]:.2f} |')
    return '\n'.join(lines)


def format_representations(result: Dict) -> str:
    """Markdown table of :func:`benchmark_representations`."""
    lines = ['| input | model | GFLOP/crop | crops/s | x heatmap + DARK | '
             'GFLOPs ratio |', '|---|---|---:|---:|---:|---:|']
    for r in result['rows']:
        lines.append(f'| {r["size"]} | {r["model"]} | {r["gflop"]:.2f} | '
                     f'{r["crops_per_s"]:.2f} | {r["ratio"]:.2f} | '
                     f'{r["ops_ratio"]:.2f} |')
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
    parser.add_argument('--no-gemm-rate', action='store_true',
                        help='skip the GEMM rate (no fraction column)')
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
    peaks = None
    if not args.no_gemm_rate:
        gemm = gemm_rates(args.threads)
        peaks = gemm['best']
        print(f'# Sustained GEMM / convolution rate ({load_average()} at '
              'the end)\n')
        print(tool_module('analysis/gemm_rate.py').format_rates(gemm))
        print()
    paths = benchmark_paths(args.config, args.num_crops, args.threads,
                            args.device, args.rounds, fp16=args.fp16,
                            peaks=peaks)
    shown = paths['config']
    if shown.startswith(REPO + osp.sep):
        shown = osp.relpath(shown, REPO)
    print(f'# Top-down inference paths: {shown}\n')
    print(f'{paths["crops"]} crops per pass over {paths["images"]} images, '
          f'flip test {paths["flip_test"]}, {paths["rounds"]} interleaved '
          f'rounds, {paths["threads"]} thread(s), device {paths["device"]}, '
          f'{paths["gflop_per_crop"]:.2f} GFLOP per crop and pass (2 x '
          f'multiply-adds), {paths["load"]} (at the end)\n')
    print(format_paths(paths))
    print(f'\nImages with 1-3 people: {paths["few_crops"]} crops over '
          f'{paths["few_images"]} images, same flip test, interleaved\n')
    print(format_few(paths))
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
