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
0, so it can run as a check.

Each simdr_ext codec is timed against the mmpose codec whose settings mean
the same thing, on the same random keypoints and the same network-like
outputs, in the same run, and their results are compared:

=======================================  ===================================
simdr_ext                                mmpose
=======================================  ===================================
``SimDRLabel(k, label_smoothing=eps)``   ``SimCCLabel('standard', k, eps)``
``SASimDRLabel(k, sigma,                 ``SimCCLabel('gaussian', k, sigma)``
round_center=True)``
``DarkHeatmap(unbiased=True, 'dark')``   ``MSRAHeatmap(unbiased=True)``
=======================================  ===================================

Two call sizes, the two that users pay for: N = 1 instance per call (a
top-down training pipeline: ``GenerateTarget`` encodes one sample, one
instance, per call) and N = 64 (a test batch decoded by the head). How
each side is called, i.e. what a pipeline and a head do:

- encode: simdr_ext encodes all N instances in one call. mmpose's
  ``SimCCLabel.encode`` takes (N, K, 2) and is called once;
  ``MSRAHeatmap.encode`` asserts N == 1, so it is called N times, as
  ``GenerateTarget`` would, one sample each. ``DarkHeatmap.encode`` with
  N > 1 merges the instances into one (K, H, W) map by a per-keypoint max
  (multi-instance targets); to get N per-instance maps from one call, the
  N x K keypoints are passed as ONE instance of N * K keypoints,
  (1, N K, 2), and the (N K, H, W) maps are reshaped to (N, K, H, W).
- decode: each codec's own ``decode`` as batched as it allows:
  ``SimCCLabel.decode`` takes (N, K, W) and is called once,
  ``MSRAHeatmap.decode`` takes one (K, H, W) sample and is called N times;
  simdr_ext's ``decode`` once on (N, K, ...).
- batch_decode: the call a head makes. mmpose's ``BaseHead.decode`` calls
  ``decode`` once per sample for codecs without ``batch_decode``
  (``SimCCLabel`` and ``MSRAHeatmap``: ``support_batch_decoding`` is
  False), so the mmpose column is that per-sample loop; simdr_ext's
  ``batch_decode`` takes the torch batch in one call. The ``to_numpy``
  split is left out on both sides.

SimDR decoders compute softmax scores (a probability in (0, 1]) where
mmpose returns the maximum logit, so they may cost more than mmpose's;
:func:`benchmark_forward` times a ResNet-50 SimDR forward pass per crop in
the same run, and :func:`check_goals` checks that the extra cost stays
below 1% of it. :func:`benchmark_pipeline` times the whole top-down
training data pipeline (``LoadImage`` to ``PackPoseInputs``) with each
codec against mmpose's on the bundled COCO images.

Timing: ``time.perf_counter``, three warm-up calls each, then ``repeats``
rounds in which the sides are called in turn (so all see the same machine
load); the median, divided by N, in microseconds per instance. Both sides
run single-threaded (see :func:`run_benchmark`).
"""
import argparse
import contextlib
import io
import os.path as osp
import sys
import time
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope, init_default_scope

import mmpose
import simdr_ext  # noqa: F401  (registers the codecs)
from simdr_ext.utils.cli import tool_parser
from mmpose.datasets import CocoDataset
from mmpose.registry import KEYPOINT_CODECS, MODELS

#: the repository (or, installed, ``simdr_ext/.mim``)
REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
COCO_DIR = osp.join(REPO, 'tests', 'data', 'coco')
DEFAULT_SIZES = ('64x64', '128x128', '256x192')
NUM_KEYPOINTS = 17
# the goal; decoded coordinates are float32 below 512 px, each rounded by
# at most 512 * 2**-24 = 3e-5 px, so the same maths agrees within it (DARK
# adds the float32 cv2 blur vs simdr_ext's float64 one: about 1e-5 px)
KPT_TOL = 1e-4
# float32 Gaussians: mmpose evaluates exp(-a) in float32, simdr_ext in
# float64; the error is about a * exp(-a) * (a few ulps of 2**-24), and
# a * exp(-a) <= 1 / e, so below 16 * 2**-24 = 1e-6
LABEL_TOL = 1e-6
# the goals: encode at N = 1 (the training pipeline's call), DARK decoding
# at N = 64 (a test batch), the extra cost of SimDR's softmax scores as a
# share of the forward pass per crop, the data pipeline's samples/s
ENCODE_GOAL = 3.0
ENCODE_GOAL_N = 1
DARK_DECODE_GOAL = 10.0
DARK_DECODE_GOAL_N = 64
SCORE_COST_GOAL = 0.01
PIPELINE_GOAL = 1.0
DEFAULT_NUM_INSTANCES = (1, 64)
FORWARD_CONFIG = 'simdr_res50_wo-deconv_4xb32-140e_coco-256x192.py'

OPS = ('encode', 'decode', 'batch_decode')
ROW_FIELDS = ('pair', 'size', 'n', 'op', 'mmpose_call', 'us_ours',
              'us_mmpose', 'ratio', 'max_abs_diff', 'diff_unit', 'tolerance',
              'agree', 'note', 'compared', 'noise_only', 'noise_only_differ')


def parse_size(name: str) -> Tuple[int, int]:
    """Parse a paper-style size ``'HxW'`` into mmpose's ``(w, h)``.

    Args:
        name (str): ``'256x192'`` (height x width, as the papers write).

    Returns:
        tuple: ``input_size`` ``(w, h)``, e.g. ``(192, 256)``.
    """
    try:
        height, width = (int(v) for v in name.lower().split('x'))
    except ValueError:
        raise ValueError(f'size {name!r}: expected HxW such as 256x192')
    if height <= 0 or width <= 0:
        raise ValueError(f'size {name!r}: expected positive sizes')
    return width, height


def paper_split_ratio(input_size: Tuple[int, int]) -> float:
    """SimDR's splitting factor ``k`` for an input size.

    SimDR Sec. 4.2 / Fig. 3 recommend k = 3 at 128x128 and k = 2 at
    256x192 (SimBa-Res50); k = 3 is kept for the smaller 64x64.

    Args:
        input_size (tuple): ``(w, h)``.

    Returns:
        float: 3.0 up to 128 px, else 2.0.
    """
    return 3.0 if max(input_size) <= 128 else 2.0


@dataclass(frozen=True)
class CodecPair:
    """A simdr_ext codec and the mmpose codec compared with it.

    Args:
        name (str): Row label, e.g. ``'SimDRLabel / SimCCLabel(standard)'``.
        ours (dict): simdr_ext codec config.
        mmpose (dict): mmpose codec config.
        heatmap (bool): Whether both encode (K, H, W) heatmaps.
        label_tol (float): Largest legitimate label difference.
        note (str): Where the two legitimately differ.
        decode_differs (str): Empty when both decoders do the same maths
            (keypoints must agree within ``KPT_TOL``); else why they differ
            by design: the keypoint difference is then reported, not
            checked. Defaults to ``''``.
    """
    name: str
    ours: dict
    mmpose: dict
    heatmap: bool
    label_tol: float
    note: str
    decode_differs: str = ''


def codec_pairs(input_size: Tuple[int, int],
                split_ratio: Optional[float] = None,
                label_smoothing: float = 0.1,
                simdr_sigma: float = 6.0,
                heatmap_sigma: Optional[float] = None,
                blur_kernel_size: Optional[int] = None) -> List[CodecPair]:
    """The three compared pairs, with settings that mean the same thing.

    Args:
        input_size (tuple): ``(w, h)``.
        split_ratio (float, optional): ``k``; ``None`` takes
            :func:`paper_split_ratio`. Defaults to ``None``.
        label_smoothing (float): SimDR's ``eps`` (mmpose's
            ``label_smooth_weight``). Defaults to 0.1.
        simdr_sigma (float): SimDR* sigma in bins. Defaults to 6.0.
        heatmap_sigma (float, optional): Heatmap sigma in heatmap pixels;
            ``None`` takes the configs' value at this size (1 up to 128 px,
            else 2; configs/recipes.yml). Defaults to None.
        blur_kernel_size (int, optional): DARK modulation kernel; ``None``
            takes the configs' value (3 with sigma 1, as DarkPose's
            w32_128x96 file; else 11). Defaults to None.

    Returns:
        list: Three :class:`CodecPair`.
    """
    k = paper_split_ratio(input_size) if split_ratio is None else split_ratio
    small = max(input_size) <= 128
    if heatmap_sigma is None:
        heatmap_sigma = 1.0 if small else 2.0
    if blur_kernel_size is None:
        blur_kernel_size = 3 if small else 11
    size = dict(input_size=tuple(input_size))
    # the same heatmap settings on both sides
    heatmap = dict(
        size,
        heatmap_size=(input_size[0] // 4, input_size[1] // 4),
        sigma=heatmap_sigma,
        unbiased=True,
        blur_kernel_size=blur_kernel_size)
    simdr = CodecPair(
        name='SimDRLabel / SimCCLabel(standard)',
        ours=dict(type='SimDRLabel', split_ratio=k,
                  label_smoothing=label_smoothing, **size),
        mmpose=dict(type='SimCCLabel', smoothing_type='standard',
                    simcc_split_ratio=k,
                    label_smooth_weight=label_smoothing, **size),
        heatmap=False,
        label_tol=0.0,  # both write the same two float32 constants
        note=('labels and weights identical; bins: floor(x k + 0.5) vs '
              'np.around (half to even), which differ only at exact '
              'half bins; mmpose\'s SimCCHead sizes vectors with int(w k), '
              'its codec with np.around (same for these integral w k); '
              'scores differ by design (softmax probability vs raw logit) '
              'and are not compared; mmpose puts a keypoint at -1 where '
              'the max logit <= 0'))
    sa_simdr = CodecPair(
        name='SASimDRLabel / SimCCLabel(gaussian)',
        ours=dict(type='SASimDRLabel', split_ratio=k, sigma=simdr_sigma,
                  normalize=True, round_center=True, decode_refine=False,
                  **size),
        mmpose=dict(type='SimCCLabel', smoothing_type='gaussian',
                    sigma=simdr_sigma, simcc_split_ratio=k, normalize=True,
                    use_dark=False, **size),
        heatmap=False,
        label_tol=LABEL_TOL,
        note=('round_center=True centres the Gaussian at round(x k) as '
              'mmpose; labels equal to float32 rounding (mmpose\'s exp runs '
              'in float32); weights: mmpose keeps a keypoint while its '
              '3-sigma window touches the vector, simdr_ext only while its '
              'rounded bin is inside (same for in-input keypoints); scores '
              'differ by design (softmax / target peak vs raw logit)'))
    dark = CodecPair(
        name='DarkHeatmap(dark) / MSRAHeatmap(unbiased)',
        ours=dict(type='DarkHeatmap', decode_mode='dark', **heatmap),
        mmpose=dict(type='MSRAHeatmap', **heatmap),
        heatmap=True,
        label_tol=LABEL_TOL,
        note=('per-instance maps: simdr_ext encodes (1, N K, 2) in one call, '
              'mmpose N calls; heatmaps equal to float32 rounding; '
              'weights: centre-on-map rule vs mmpose\'s 3-sigma rule (same '
              'for in-input keypoints)'),
        decode_differs=(
            'DARK decoding differs from mmpose\'s by design: simdr_ext '
            'extends each map beyond its border by the log-quadratic '
            'through its outer pixels before the blur (mmpose pads with '
            'zeros, which pulls every blurred peak within the kernel '
            'radius of the border inwards) and refines border keypoints '
            '(mmpose skips them), and clips concave Taylor steps at 3 px; '
            'the keypoint difference is reported, not checked '
            '(simdr_ext.codecs.utils.dark)'))
    return [simdr, sa_simdr, dark]


def make_keypoints(
        rng: np.random.Generator,
        input_size: Tuple[int, int],
        num_instances: int,
        num_keypoints: int = NUM_KEYPOINTS,
        invisible_fraction: float = 0.1) -> Tuple[np.ndarray, np.ndarray]:
    """Random sub-pixel keypoints inside the input, as a pipeline emits.

    Args:
        rng (np.random.Generator): Seeded generator.
        input_size (tuple): ``(w, h)``.
        num_instances (int): N.
        num_keypoints (int): K. Defaults to 17.
        invisible_fraction (float): Share of keypoints marked invisible.
            Defaults to 0.1.

    Returns:
        tuple:
        - keypoints (np.ndarray): Float32 input pixels in shape (N, K, 2),
          inside ``[0.1, 0.9]`` of the input (mmpose's test habit).
        - keypoints_visible (np.ndarray): Float32 0/1 in shape (N, K).
    """
    frac = 0.1 + 0.8 * rng.random((num_instances, num_keypoints, 2))
    keypoints = (frac * np.array(input_size)).astype(np.float32)
    visible = rng.random((num_instances, num_keypoints)) >= invisible_fraction
    return keypoints, visible.astype(np.float32)


def add_noise(rng: np.random.Generator, target: np.ndarray,
              noise: float) -> np.ndarray:
    """A network-like output: the target plus seeded Gaussian noise.

    Args:
        rng (np.random.Generator): Seeded generator.
        target (np.ndarray): Encoded labels or heatmaps, any shape.
        noise (float): Noise std as a fraction of the target's peak value,
            small enough that the argmax stays at the target's peak.

    Returns:
        np.ndarray: Float32 array of the same shape.
    """
    scale = noise * float(np.max(target))
    return (target + scale * rng.standard_normal(target.shape)).astype(
        np.float32)


def time_calls(calls: Sequence[Callable],
               repeats: int,
               warmup: int = 3) -> Tuple[List[float], list]:
    """Median seconds of callables timed in turn, after warm-up calls.

    The calls alternate within every repeat, so each sees the same machine
    load (another process may be running on a small machine).

    Args:
        calls (Sequence[Callable]): Callables without arguments.
        repeats (int): Timed calls of each, >= 1.
        warmup (int): Untimed calls of each first (>= 1; the first calls
            of a fresh process ran up to 2x slower here). Defaults to 3.

    Returns:
        tuple: the median seconds of each callable, and the return values
        of their first calls.
    """
    outputs = [call() for call in calls]
    for _ in range(warmup - 1):
        for call in calls:
            call()
    seconds = [[] for _ in calls]
    for _ in range(repeats):
        for call, times in zip(calls, seconds):
            start = time.perf_counter()
            call()
            times.append(time.perf_counter() - start)
    return [float(np.median(t)) for t in seconds], outputs


def _labels(encoded: dict, heatmap: bool) -> List[np.ndarray]:
    if heatmap:
        return [encoded['heatmaps']]
    return [encoded['keypoint_x_labels'], encoded['keypoint_y_labels']]


def _row(pair: CodecPair,
         size: str,
         op: str,
         t_ours: float,
         t_mmpose: float,
         num_instances: int,
         diff: float,
         unit: str,
         tol: float,
         agree: bool,
         note: str,
         counts: Tuple[int, int, int] = (0, 0, 0),
         mmpose_call: str = '') -> dict:
    us_ours = t_ours / num_instances * 1e6
    us_mmpose = t_mmpose / num_instances * 1e6
    return dict(
        pair=pair.name,
        size=size,
        n=num_instances,
        op=op,
        mmpose_call=mmpose_call,
        us_ours=us_ours,
        us_mmpose=us_mmpose,
        ratio=us_mmpose / max(us_ours, 1e-12),
        max_abs_diff=diff,
        diff_unit=unit,
        tolerance=tol,
        agree=None if agree is None else bool(agree),
        note=note,
        compared=counts[0],
        noise_only=counts[1],
        noise_only_differ=counts[2])


def mmpose_batched(pair: CodecPair) -> bool:
    """Whether the mmpose codec of a pair encodes and decodes N instances
    in one call (``SimCCLabel``) or only one (``MSRAHeatmap``)."""
    return pair.mmpose['type'] != 'MSRAHeatmap'


def benchmark_pair(pair: CodecPair,
                   size: str,
                   num_instances: int = 64,
                   repeats: int = 15,
                   seed: int = 0,
                   noise: float = 0.01,
                   invisible_fraction: float = 0.1) -> List[dict]:
    """Time and compare one pair: encode, decode and batch_decode rows.

    Args:
        pair (CodecPair): The two codec configs.
        size (str): Size label for the rows (``'256x192'``).
        num_instances (int): N. Defaults to 64.
        repeats (int): Timed calls per side. Defaults to 15.
        seed (int): Seed of the keypoints and the noise. Defaults to 0.
        noise (float): Output noise, a fraction of the target peak.
            Defaults to 0.01.
        invisible_fraction (float): Share of invisible keypoints. Defaults
            to 0.1.

    Returns:
        list: Three row dicts with the keys of ``ROW_FIELDS``; ``ratio`` is
        ``us_mmpose / us_ours``; ``mmpose_call`` says how mmpose was
        called; ``max_abs_diff`` is in label units for encode (with the
        weights compared exactly) and in input pixels over the visible
        keypoints for decoding; ``compared`` counts those keypoints,
        ``noise_only`` the invisible ones (noise-only outputs, left out of
        the comparison) and ``noise_only_differ`` how many of these decode
        differently (0 for encode rows).
    """
    ours = KEYPOINT_CODECS.build(pair.ours)
    mmpose = KEYPOINT_CODECS.build(pair.mmpose)
    batched = mmpose_batched(pair)
    rng = np.random.default_rng(seed)
    n = num_instances
    keypoints, visible = make_keypoints(
        rng, ours.input_size, n, invisible_fraction=invisible_fraction)
    k = keypoints.shape[1]
    one = '1 call' if n == 1 else None

    # ---- encode -------------------------------------------------------
    if pair.heatmap and n > 1:
        flat_kpts = keypoints.reshape(1, n * k, 2)
        flat_vis = visible.reshape(1, n * k)

        def encode_ours():
            enc = ours.encode(flat_kpts, flat_vis)
            return dict(
                heatmaps=enc['heatmaps'].reshape(n, k,
                                                 *enc['heatmaps'].shape[1:]),
                keypoint_weights=enc['keypoint_weights'].reshape(n, k))
    elif pair.heatmap:

        def encode_ours():
            enc = ours.encode(keypoints, visible)
            return dict(enc, heatmaps=enc['heatmaps'][None])
    else:

        def encode_ours():
            return ours.encode(keypoints, visible)

    if batched:

        def encode_mmpose():
            return [mmpose.encode(keypoints, visible)]

        encode_call = one or f'1 call of N={n}'
    else:

        def encode_mmpose():
            return [
                mmpose.encode(keypoints[i:i + 1], visible[i:i + 1])
                for i in range(n)
            ]

        encode_call = one or f'{n} calls of N=1 (asserts N == 1)'

    (t_ours, t_mm), (enc_ours, enc_mm) = time_calls(
        (encode_ours, encode_mmpose), repeats)
    if pair.heatmap:
        mm_labels = [np.stack([e['heatmaps'] for e in enc_mm])]
    else:
        mm_labels = [
            np.concatenate([e[key] for e in enc_mm])
            for key in ('keypoint_x_labels', 'keypoint_y_labels')
        ]
    mm_weights = np.concatenate([e['keypoint_weights'] for e in enc_mm])
    label_diff = max(
        float(np.abs(a.astype(np.float64) - b).max())
        for a, b in zip(_labels(enc_ours, pair.heatmap), mm_labels))
    weights_equal = np.array_equal(enc_ours['keypoint_weights'], mm_weights)
    agree = weights_equal and label_diff <= pair.label_tol
    note = pair.note
    if not weights_equal:
        note += '; WEIGHTS DIFFER for in-input keypoints'
    rows = [
        _row(pair, size, 'encode', t_ours, t_mm, n, label_diff, 'label',
             pair.label_tol, agree, note, mmpose_call=encode_call)
    ]

    # ---- decode: the same network-like outputs for both sides ---------
    outputs = [
        add_noise(rng, target, noise)
        for target in _labels(enc_ours, pair.heatmap)
    ]
    per_sample = [tuple(o[i] for o in outputs) for i in range(n)]
    tensors = [torch.from_numpy(o) for o in outputs]

    def decode_mmpose_per_sample():
        return [mmpose.decode(*sample) for sample in per_sample]

    if batched:

        def decode_mmpose():
            return [mmpose.decode(*outputs)]

        decode_call = one or f'1 call of N={n}'
    else:
        decode_mmpose = decode_mmpose_per_sample
        decode_call = one or f'{n} calls of one (K, H, W) sample'
    calls = [lambda: ours.decode(*outputs), decode_mmpose,
             lambda: ours.batch_decode(*tensors)]
    if batched:  # the head path differs from the batched decode call
        calls.append(decode_mmpose_per_sample)
    times, results = time_calls(calls, repeats)
    t_ours, t_mm, t_batch = times[:3]
    t_mm_head = times[3] if batched else t_mm
    dec_ours, dec_mm, dec_batch = results[:3]
    kpts_mm = np.concatenate([kp for kp, _ in dec_mm])[..., :2]
    # noise-only maps / vectors of invisible keypoints carry no keypoint;
    # where they decode differently (DARK's guard) it is reported, not
    # counted as a disagreement
    mask = (enc_ours['keypoint_weights'] > 0) & (mm_weights > 0)
    head_call = one or (f'{n} per-sample decode calls (BaseHead.decode: '
                        'no batch_decode)')
    for op, t_op, t_ref, kpts, call in (
            ('decode', t_ours, t_mm, dec_ours[0], decode_call),
            ('batch_decode', t_batch, t_mm_head,
             np.concatenate(dec_batch[0]), head_call)):
        delta = np.abs(kpts.astype(np.float64) - kpts_mm).max(-1)
        diff = float(delta[mask].max()) if mask.any() else 0.0
        differ = int((delta[~mask] > KPT_TOL).sum())
        counts = (int(mask.sum()), int((~mask).sum()), differ)
        note = (f'{counts[0]} visible keypoints compared; {differ} of '
                f'{counts[1]} noise-only (invisible) keypoints decode '
                'differently')
        if not pair.heatmap:
            note += ('; simdr_ext computes softmax scores, mmpose returns '
                     'the max logit')
        # None: not expected to agree (different maths), see the pair
        agree = None if pair.decode_differs else diff <= KPT_TOL
        if pair.decode_differs:
            note += '; ' + pair.decode_differs
        rows.append(
            _row(pair, size, op, t_op, t_ref, n, diff, 'px', KPT_TOL, agree,
                 note, counts, call))
    return rows


def run_benchmark(sizes: Sequence[str] = DEFAULT_SIZES,
                  num_instances: Union[int, Sequence[int]] = (
                      DEFAULT_NUM_INSTANCES),
                  repeats: int = 15,
                  seed: int = 0,
                  pairs: Optional[Sequence[str]] = None,
                  threads: Optional[int] = 1) -> List[dict]:
    """Benchmark every pair at every size and every N.

    Both sides run single-threaded by default: numpy's element-wise maths
    and mmpose's per-sample loops use one core, while torch's OpenMP pool
    (simdr_ext's ``batch_decode``) stalls for milliseconds when another
    process holds a core of a small machine (measured on 2 cores: a
    (64, 17, 384) softmax took 0.2 ms on one thread, 3-10 ms on two).

    Args:
        sizes (Sequence[str]): ``'HxW'`` sizes. Defaults to 64x64, 128x128
            and 256x192.
        num_instances (int | Sequence[int]): N per call, one or several.
            Defaults to (1, 64).
        repeats (int): Timed calls per side. Defaults to 15.
        seed (int): Seed. Defaults to 0.
        pairs (Sequence[str], optional): Keep only the pairs of these
            simdr_ext codecs (``'SimDRLabel'``, ``'SASimDRLabel'``,
            ``'DarkHeatmap'``). ``None`` keeps all. Defaults to ``None``.
        threads (int, optional): torch and OpenCV threads while timing,
            restored afterwards; ``None`` leaves them alone. Defaults to 1.

    Returns:
        list: Row dicts (see :func:`benchmark_pair`), sizes outermost, then
        N, then pairs.
    """
    if isinstance(num_instances, int):
        num_instances = (num_instances, )
    with fixed_threads(threads):
        rows = []
        for size in sizes:
            for n in num_instances:
                for pair in codec_pairs(parse_size(size)):
                    if pairs is None or pair.ours['type'] in pairs:
                        rows += benchmark_pair(pair, size, n, repeats, seed)
    return rows


@contextlib.contextmanager
def fixed_threads(threads: Optional[int]):
    """Set torch and OpenCV threads in a ``with`` block, then restore.

    Args:
        threads (int, optional): The thread count; ``None`` changes
            nothing.
    """
    saved = torch.get_num_threads(), cv2.getNumThreads()
    if threads is not None:
        torch.set_num_threads(threads)
        cv2.setNumThreads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(saved[0])
        cv2.setNumThreads(saved[1])


def benchmark_forward(config: Optional[str] = None,
                      batch_sizes: Sequence[int] = (1, 8),
                      repeats: int = 3,
                      threads: Optional[int] = 1) -> List[dict]:
    """Forward pass per crop of a SimDR model (random weights), for scale.

    ``backbone + head.forward`` on random crops at the config's input
    size, after one warm-up call, the median of ``repeats`` calls, divided
    by the batch size.

    Args:
        config (str, optional): Config file; ``None`` takes simdr_ext's
            upsample-free ResNet-50 SimDR 256x192 (the cheaper forward of
            the ResNet-50 SimDR heads, so the stricter yardstick).
        batch_sizes (Sequence[int]): Crops per call. Defaults to (1, 8).
        repeats (int): Timed calls per batch size. Defaults to 3.
        threads (int, optional): torch threads. Defaults to 1.

    Returns:
        list: ``dict(config, batch, ms_per_crop)`` per batch size.
    """
    if config is None:
        config = osp.join(REPO, 'configs', 'simdr', 'coco', FORWARD_CONFIG)
    cfg = Config.fromfile(config)
    cfg.model.backbone.init_cfg = None  # random weights: nothing downloaded
    rows = []
    with fixed_threads(threads), torch.no_grad():
        init_default_scope('mmpose')
        model = MODELS.build(cfg.model).eval()
        w, h = cfg.codec['input_size']
        for batch in batch_sizes:
            x = torch.randn(batch, 3, h, w)

            def forward():
                model.head.forward(model.extract_feat(x))

            (sec, ), _ = time_calls([forward], repeats, warmup=1)
            rows.append(
                dict(
                    config=osp.basename(config),
                    batch=batch,
                    ms_per_crop=sec / batch * 1e3))
    return rows


def _pipeline_dataset(codec: dict, input_size: Tuple[int, int]):
    """mmpose's CocoDataset on the bundled images with the top-down
    training pipeline minus its random augmentations."""
    pipeline = [
        dict(type='LoadImage'),
        dict(type='GetBBoxCenterScale'),
        dict(type='TopdownAffine', input_size=input_size),
        dict(type='GenerateTarget', encoder=codec),
        dict(type='PackPoseInputs'),
    ]
    # xtcocotools prints its index progress: keep it out of the report
    with DefaultScope.overwrite_default_scope('mmpose'), \
            contextlib.redirect_stdout(io.StringIO()):
        return CocoDataset(
            ann_file='test_coco.json',
            data_root=COCO_DIR,
            data_prefix=dict(img=''),
            # mmpose's file, not this repository's configs/_base_ of that
            # name
            metainfo=dict(from_file=osp.join(
                osp.dirname(mmpose.__file__), '.mim', 'configs', '_base_',
                'datasets', 'coco.py')),
            pipeline=pipeline,
            test_mode=False)


def benchmark_pipeline(size: str = '256x192',
                       repeats: int = 15,
                       pairs: Optional[Sequence[str]] = None,
                       threads: Optional[int] = 1) -> List[dict]:
    """Samples/s of the top-down training data pipeline, per codec pair.

    ``LoadImage -> GetBBoxCenterScale -> TopdownAffine ->
    GenerateTarget(encoder) -> PackPoseInputs`` over every person of the
    bundled COCO file (``tests/data/coco``, read from disk on every pass,
    as training does). The first three steps are the same code on the same
    input for both codecs, so they are timed once per sample (the
    ``shared`` part, median over ``repeats`` rounds); ``GenerateTarget +
    PackPoseInputs`` (the ``tail``, the only part a codec changes) is timed
    on that sample's shared output with the simdr_ext codec and with the
    mmpose codec in turn, who goes first alternating from sample to sample,
    each the median over the rounds. A side's pass time is the sum over
    the samples of shared + its tail: a whole pipeline, without the
    shared part's noise (several % on a busy machine) hiding a codec's
    difference.

    Args:
        size (str): ``'HxW'`` input size. Defaults to ``'256x192'``.
        repeats (int): Timed rounds. Defaults to 15.
        pairs (Sequence[str], optional): Keep only these simdr_ext codecs.
            Defaults to ``None`` (all).
        threads (int, optional): torch / OpenCV threads (one core: 1).
            Defaults to 1.

    Returns:
        list: ``dict(pair, size, samples, shared_ms, tail_us_ours,
        tail_us_mmpose, sps_ours, sps_mmpose, ratio)`` per pair
        (``shared_ms`` per sample, tails in µs per sample,
        ``ratio = sps_ours / sps_mmpose``).
    """
    input_size = parse_size(size)
    rows = []
    with fixed_threads(threads):
        for pair in codec_pairs(input_size):
            if pairs is not None and pair.ours['type'] not in pairs:
                continue
            sets = [
                _pipeline_dataset(cfg, input_size)
                for cfg in (pair.ours, pair.mmpose)
            ]
            count = len(sets[0])
            head = sets[0].pipeline.transforms[:3]
            tails = [d.pipeline.transforms[3:] for d in sets]

            def shared(i):

                def run():
                    results = sets[0].get_data_info(i)
                    for transform in head:
                        results = transform(results)
                    return results

                return run

            def tail(transforms, results):

                def run():
                    out = dict(results)
                    for transform in transforms:
                        out = transform(out)
                    return out

                return run

            shared_calls = [shared(i) for i in range(count)]
            shared_s, outputs = time_calls(shared_calls, repeats, warmup=1)
            calls, sides = [], []
            for i, results in enumerate(outputs):
                order = (0, 1) if i % 2 == 0 else (1, 0)
                calls += [tail(tails[side], results) for side in order]
                sides += order
            tail_s, _ = time_calls(calls, repeats, warmup=1)
            tail_ours, tail_mm = (
                sum(t for t, side in zip(tail_s, sides) if side == which)
                for which in (0, 1))
            base = sum(shared_s)
            rows.append(
                dict(
                    pair=pair.name,
                    size=size,
                    samples=count,
                    shared_ms=base / count * 1e3,
                    tail_us_ours=tail_ours / count * 1e6,
                    tail_us_mmpose=tail_mm / count * 1e6,
                    sps_ours=count / (base + tail_ours),
                    sps_mmpose=count / (base + tail_mm),
                    ratio=(base + tail_mm) / (base + tail_ours)))
    return rows


def check_goals(rows: Sequence[dict],
                forward: Optional[Sequence[dict]] = None,
                pipeline: Optional[Sequence[dict]] = None
                ) -> Dict[str, dict]:
    """The speed and agreement goals, evaluated on benchmark rows.

    Args:
        rows (Sequence[dict]): Rows of :func:`run_benchmark`.
        forward (Sequence[dict], optional): Rows of
            :func:`benchmark_forward`. Defaults to ``None``.
        pipeline (Sequence[dict], optional): Rows of
            :func:`benchmark_pipeline`. Defaults to ``None``.

    Returns:
        dict: each goal a dict with ``met`` (bool, or ``None`` when nothing
        it needs was measured), ``value`` and ``text``:

        - ``encode``: every encode at N = 1 >= 3x faster than mmpose;
        - ``dark_decode`` / ``dark_batch_decode``: DARK ``decode`` /
          ``batch_decode`` (the head path) at N = 64 >= 10x faster;
        - ``score_cost``: the SimDR decoders' extra time over mmpose's (for
          the softmax scores), per crop, at most 1% of the fastest forward
          pass per crop (value: the largest share);
        - ``pipeline``: samples/s with each simdr_ext codec >= with
          mmpose's;
        - ``agreement``: every row within its tolerance (value: the
          keypoint differences in px).
    """

    def ratios(op, prefix='', n=None):
        return [
            r['ratio'] for r in rows if r['op'] == op
            and r['pair'].startswith(prefix) and (n is None or r['n'] == n)
        ]

    def goal(values, least, text):
        met = None if not values else bool(min(values) >= least)
        return dict(met=met, value=values, text=text)

    dark = (f'DARK {{}} at N = {DARK_DECODE_GOAL_N} >= '
            f'{DARK_DECODE_GOAL:g}x faster than mmpose')
    goals = dict(
        encode=goal(
            ratios('encode', n=ENCODE_GOAL_N), ENCODE_GOAL,
            f'encode at N = {ENCODE_GOAL_N} >= {ENCODE_GOAL:g}x faster than '
            'mmpose (every codec)'),
        dark_decode=goal(
            ratios('decode', 'DarkHeatmap', DARK_DECODE_GOAL_N),
            DARK_DECODE_GOAL, dark.format('decode')),
        dark_batch_decode=goal(
            ratios('batch_decode', 'DarkHeatmap', DARK_DECODE_GOAL_N),
            DARK_DECODE_GOAL, dark.format('batch_decode (head path)')))
    extra_us = [
        max(r['us_ours'] - r['us_mmpose'], 0.0) for r in rows
        if r['op'] in ('decode', 'batch_decode')
        and not r['pair'].startswith('DarkHeatmap')
    ]
    text = ('SimDR decoders\' extra cost over mmpose (softmax scores) '
            f'< {SCORE_COST_GOAL:.0%} of the forward pass per crop')
    if forward and extra_us:
        fastest_us = min(f['ms_per_crop'] for f in forward) * 1e3
        share = max(extra_us) / fastest_us
        goals['score_cost'] = dict(
            met=bool(share < SCORE_COST_GOAL),
            value=share,
            extra_us=max(extra_us),
            forward_us=fastest_us,
            text=text)
    else:
        goals['score_cost'] = dict(met=None, value=None, text=text)
    goals['pipeline'] = goal([p['ratio'] for p in pipeline or []],
                             PIPELINE_GOAL,
                             'training data pipeline with simdr_ext codecs '
                             'no slower than with mmpose\'s (samples/s)')
    checked = [r for r in rows if r['agree'] is not None]
    goals['agreement'] = dict(
        met=all(r['agree'] for r in checked),
        value=[r['max_abs_diff'] for r in checked if r['diff_unit'] == 'px'],
        text=(f'identical keypoints (<= {KPT_TOL:g} px) and labels where '
              'both codecs do the same maths'))
    return goals


def build_parser() -> argparse.ArgumentParser:
    """The command line: the module docstring is its description, its
    examples the epilog."""
    parser = tool_parser(__doc__)
    parser.add_argument(
        '--num-instances', type=int, nargs='+',
        default=list(DEFAULT_NUM_INSTANCES),
        help='instances N per call, one or several')
    parser.add_argument(
        '--repeats',
        type=int,
        default=15,
        help='timed calls per side (the median is reported)')
    parser.add_argument(
        '--sizes', nargs='+', default=list(DEFAULT_SIZES),
        help='input sizes HxW, e.g. 256x192 (input_size w=192, h=256)')
    parser.add_argument(
        '--pairs', nargs='+', default=None,
        choices=['SimDRLabel', 'SASimDRLabel', 'DarkHeatmap'],
        help='only these simdr_ext codecs (without it: all three)')
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
    return parser


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = build_parser()
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
            :func:`run_benchmark`.

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
    start = time.perf_counter()

    def stage(text: str) -> None:
        # progress on stderr: the report on stdout stays clean
        print(f'[{time.perf_counter() - start:.0f} s] {text}', file=sys.stderr,
              flush=True)

    stage(f'codec timings at {", ".join(args.sizes)} (the longest part)')
    rows = run_benchmark(
        sizes=args.sizes,
        num_instances=args.num_instances,
        repeats=args.repeats,
        seed=args.seed,
        pairs=args.pairs,
        threads=threads)
    if not args.no_forward:
        stage('forward pass timing')
    forward = None if args.no_forward else benchmark_forward(
        repeats=args.forward_repeats, threads=threads)
    if not args.no_pipeline:
        stage('data pipeline timing')
    pipeline = None if args.no_pipeline else benchmark_pipeline(
        args.pipeline_size,
        repeats=args.pipeline_repeats,
        pairs=args.pairs,
        threads=threads)
    goals = check_goals(rows, forward, pipeline)
    stage('done')
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
