# Copyright (c) simdr_ext contributors. All rights reserved.
"""Inference speed of top-down models, side by side in one run.

Two measurements per config, as in SimDR Table 4 and as a user sees it:

- forward: batch 1, ``num_crops`` random crops at the config's input size,
  ``backbone + head.forward`` only, after warm-up;
- end to end: one real person crop at a time through the config's test
  pipeline (box to centre/scale, affine warp, packing), the data
  preprocessor, the forward pass, the head's decoding and the
  back-projection to the image (``model.test_step``), on the bundled COCO
  people in turn.

Thread counts are fixed (``torch.set_num_threads`` and OpenCV) so numbers of
one run compare; CUDA is used when present and asked for.
"""
import copy
import os.path as osp
import time
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
COCO_DIR = osp.join(REPO, 'tests', 'data', 'coco')


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


def resolve_config(config: str) -> str:
    """A config path; ``mmpose::REL`` means mmpose's ``.mim/configs/REL``."""
    if config.startswith('mmpose::'):
        import mmpose
        return osp.join(osp.dirname(mmpose.__file__), '.mim', 'configs',
                        config[len('mmpose::'):])
    return config


def build_model(config: str, device: str = 'cpu', dark: bool = False):
    """Build a model with random weights, nothing downloaded, eval mode.

    Args:
        config (str): Config file or ``mmpose::`` name.
        device (str): Device. Defaults to ``'cpu'``.
        dark (bool): Decode heatmaps with DARK (:func:`dark_decoding`).
            Defaults to ``False``.

    Returns:
        nn.Module: The model.
    """
    import simdr_ext  # noqa: F401
    from mmpose.apis import init_model
    cfg = Config.fromfile(resolve_config(config))
    cfg.model.backbone.init_cfg = None
    cfg.load_from = None
    if dark:
        cfg = dark_decoding(cfg)
    model = init_model(cfg, None, device=device)
    model.cfg = cfg
    return model.eval()


def sync(device: str) -> None:
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def forward_step(model, device: str):
    """A closure running ``backbone + head.forward`` on one random crop."""
    w, h = model.cfg.codec['input_size']
    x = torch.randn(1, 3, h, w, device=device)

    def step(i: int) -> None:
        model.head.forward(model.extract_feat(x))
        sync(device)

    return step


def coco_people(ann_file: str = osp.join(COCO_DIR, 'test_coco.json')):
    """``(image, xyxy box)`` of the bundled people (images in memory)."""
    from mmengine.fileio import load
    data = load(ann_file)
    files = {img['id']: img['file_name'] for img in data['images']}
    images = {i: cv2.imread(osp.join(COCO_DIR, f)) for i, f in files.items()}
    people = []
    for ann in data['annotations']:
        if ann.get('num_keypoints', 0) > 0 and not ann.get('iscrowd', 0):
            x, y, w, h = ann['bbox']
            people.append((images[ann['image_id']],
                           np.array([[x, y, x + w, y + h]], np.float32)))
    return people


def end_to_end_step(model, people):
    """A closure running the whole top-down path on person ``i`` (cycling):
    the test pipeline without image loading (box to centre/scale, affine,
    packing), then ``model.test_step`` (preprocessing, forward, decoding,
    back-projection)."""
    from mmcv.transforms import Compose
    pipeline = Compose([
        t for t in model.cfg.test_dataloader.dataset.pipeline
        if t['type'] != 'LoadImage'
    ])
    meta = model.dataset_meta

    def step(i: int) -> None:
        img, box = people[i % len(people)]
        data = pipeline(
            dict(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2],
                 img_path='', bbox=box, bbox_score=np.ones(1, np.float32),
                 **meta))
        model.test_step(pseudo_collate([data]))

    return step


@torch.inference_mode()
def interleaved_seconds(steps: Sequence, num_crops: int, rounds: int = 5,
                        warmup: int = 5) -> List[float]:
    """Seconds per call of each step, measured in interleaved rounds.

    Every round runs ``num_crops / rounds`` calls of each step in turn, so
    a change of machine load hits every model alike; the result per step is
    its total time over all rounds divided by the number of calls.

    Args:
        steps (Sequence[callable]): ``step(i)`` closures.
        num_crops (int): Calls per step in total.
        rounds (int): Rounds. Defaults to 5.
        warmup (int): Untimed calls of each step first. Defaults to 5.

    Returns:
        list[float]: Seconds per call, one per step.
    """
    for step in steps:
        for i in range(warmup):
            step(i)
    per_round = max(1, num_crops // rounds)
    totals = [0.0] * len(steps)
    for r in range(rounds):
        for k, step in enumerate(steps):
            start = time.perf_counter()
            for i in range(r * per_round, (r + 1) * per_round):
                step(i)
            totals[k] += time.perf_counter() - start
    return [t / (per_round * rounds) for t in totals]


def benchmark(entries: Sequence[Dict],
              num_crops: int = 300,
              threads: int = 1,
              device: Optional[str] = None,
              rounds: int = 5) -> List[Dict]:
    """Time every entry; entries of a group are measured interleaved.

    Args:
        entries (Sequence[dict]): ``config`` (path or ``mmpose::`` name),
            ``name``, optional ``dark`` (bool) and ``group`` (rows are
            compared with the first row of their group).
        num_crops (int): Crops per measurement. Defaults to 300.
        threads (int): CPU threads. Defaults to 1.
        device (str, optional): ``'cpu'`` or ``'cuda'``; ``None`` picks
            CUDA when present. Defaults to ``None``.
        rounds (int): Interleaved rounds. Defaults to 5.

    Returns:
        list[dict]: Rows with ``name``, ``group``, ``input``, forward and
        end-to-end ms per crop and fps, and the ratios (first row of the
        group / this row, in time: > 1 means faster).
    """
    if device is None:
        device = 'cuda' if torch.cuda.is_available() else 'cpu'
    torch.set_num_threads(threads)
    cv2.setNumThreads(threads)
    people = coco_people()
    groups: Dict[str, List[Dict]] = {}
    for entry in entries:
        groups.setdefault(entry.get('group', ''), []).append(entry)
    rows: List[Dict] = []
    for group, members in groups.items():
        models = [
            build_model(e['config'], device, e.get('dark', False))
            for e in members
        ]
        fwd = interleaved_seconds([forward_step(m, device) for m in models],
                                  num_crops, rounds)
        e2e = interleaved_seconds([end_to_end_step(m, people)
                                   for m in models], num_crops, rounds)
        for entry, model, f, e in zip(members, models, fwd, e2e):
            w, h = model.cfg.codec['input_size']
            rows.append(
                dict(name=entry['name'], group=group, input=f'{h}x{w}',
                     forward_ms=f * 1e3, forward_fps=1 / f, e2e_ms=e * 1e3,
                     e2e_fps=1 / e, forward_ratio=fwd[0] / f,
                     e2e_ratio=e2e[0] / e, device=device, threads=threads))
        del models
    return rows


def format_table(rows: Sequence[Dict]) -> str:
    """Markdown table of :func:`benchmark` rows."""
    lines = [
        '| group | model | input | forward ms | forward fps | forward x '
        '| end-to-end ms | end-to-end fps | end-to-end x |',
        '|---|---|---|---:|---:|---:|---:|---:|---:|'
    ]
    for r in rows:
        lines.append(
            f'| {r["group"]} | {r["name"]} | {r["input"]} | '
            f'{r["forward_ms"]:.2f} | {r["forward_fps"]:.1f} | '
            f'{r["forward_ratio"]:.2f} | {r["e2e_ms"]:.2f} | '
            f'{r["e2e_fps"]:.1f} | {r["e2e_ratio"]:.2f} |')
    return '\n'.join(lines)


def paper_table4_entries(sizes=('64x64', '128x128', '256x192')) -> List[Dict]:
    """The default comparison: SimDR Table 4 on ResNet-50, and simdr_ext's
    SimDR head against mmpose's SimCC model of the same architecture."""
    cfg = osp.join(REPO, 'configs')
    entries = []
    for size in sizes:
        entries += [
            dict(group=f'Res50 {size}',
                 name='heatmap Res50 + DARK decoding',
                 config=osp.join(cfg, 'heatmap', 'coco',
                                 f'heatmap_res50_4xb32-140e_coco-{size}.py'),
                 dark=True),
            dict(group=f'Res50 {size}',
                 name='SimDR Res50 upsample-free',
                 config=osp.join(
                     cfg, 'simdr', 'coco',
                     f'simdr_res50_wo-deconv_4xb32-140e_coco-{size}.py')),
        ]
    entries += [
        dict(group='SimCC vs SimDR 256x192',
             name='mmpose SimCC Res50 (SimCCHead)',
             config='mmpose::body_2d_keypoint/simcc/coco/'
             'simcc_res50_8xb64-210e_coco-256x192.py'),
        dict(group='SimCC vs SimDR 256x192',
             name='simdr_ext SimDR Res50 (SimDRHead)',
             config=osp.join(cfg, 'simdr', 'coco',
                             'simdr_res50_8xb64-210e_coco-256x192.py')),
    ]
    return entries
