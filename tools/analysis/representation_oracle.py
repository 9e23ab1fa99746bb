# Copyright (c) simdr_ext contributors. All rights reserved.
"""The representation oracle: how much a codec alone loses on real people.

Example::

    python tools/analysis/representation_oracle.py \\
        --dataset coco --sizes 64x64 128x128 256x192 384x288

SimDR Appendix D bounds the quantisation error of a coordinate encoding:
below ``1 / (2k)`` input pixels per axis for SimDR with splitting factor
``k``, below ``lambda / 2`` for a heatmap downsampled ``lambda`` times and
decoded by argmax; DARK Tables 1 and 3 show what the decoder (argmax,
1/4-pixel shift, DARK's Taylor step) and the encoder (biased, i.e. centred
at ``round(g / lambda)``, or unbiased) add. The oracle measures that on
ground truth with no network at all, through mmpose's own top-down path:

1. the people come from mmpose's data set (``CheckedCocoDataset``,
   ``CheckedCrowdPoseDataset``, ``CheckedMpiiDataset``: mmpose's classes
   with their input checked), test mode, one instance per sample;
2. ``GetBBoxCenterScale`` (padding 1.25) and ``TopdownAffine`` map them to
   the input; ``GenerateTarget`` encodes them with the codec;
3. the codec decodes the target itself (what a perfectly trained network
   would output, see below), ``TopdownPoseEstimator.add_pred_to_datasample``
   maps the keypoints back to the image (``keypoints / input_size *
   input_scale + input_center - 0.5 * input_scale``);
4. the data set's metric scores them (``CocoMetric``: COCO keypoint AP, the
   crowd variant for CrowdPose; ``PCKAccuracy`` for MPII), every person
   with score 1 and no NMS, as in a test with ground-truth boxes.

What "the target itself" means per codec (the output of an ideal network):
SimDR's one-hot (or label-smoothed) labels and the MSE heatmaps are decoded
as they are; a SimDR* network is trained with a KL divergence, so its ideal
logits are ``log(label)`` (their softmax is the label), and those are
decoded (mmpose's SimCC decodes by argmax alone, which is the same on the
labels, and reads a non-positive maximum as a missing keypoint, so its
labels are decoded as they are). Exits 1 when a quantisation bound of SimDR
Appendix D is exceeded, else 0.
"""
import argparse
import contextlib
import io
import logging
import os.path as osp
import sys
import warnings
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.logging import MMLogger
from mmengine.structures import InstanceData
from mmpose.datasets.transforms import (GenerateTarget, GetBBoxCenterScale,
                                        PackPoseInputs, TopdownAffine)
from mmpose.evaluation.functional.nms import oks_iou
from mmpose.models.pose_estimators import TopdownPoseEstimator
from mmpose.registry import DATASETS, METRICS
if __package__:
    from .benchmark_codecs import paper_split_ratio, parse_size
else:  # run as a script: its folder, holding benchmark_codecs.py, is first
    from benchmark_codecs import paper_split_ratio, parse_size

import simdr_ext  # noqa: F401  (registers the codecs and data sets)
from simdr_ext.utils.cli import tool_parser

DATA_ROOT = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'tests',
    'data')
ORACLE_SIZES = ('64x64', '128x128', '256x192', '384x288')
BBOX_PADDING = 1.25  # GetBBoxCenterScale's default, as mmpose's configs
SIMDR_SIGMA = 6.0  # SimDR* sigma in bins: mmpose's / the SimCC configs
HEATMAP_STRIDE = 4  # heatmap = input / 4 (SimpleBaseline, HRNet, DARK)
#: codecs whose ideal network output is log(label) (trained with a KL
#: divergence; mmpose's SimCC is too, but its argmax decoder reads a
#: non-positive maximum as a missing keypoint, so its labels go as they are)
KL_TRAINED = ('SASimDRLabel', )
ROW_FIELDS = ('size', 'codec', 'settings', 'bound', 'n_kpt', 'n_visible',
              'mean_err_input', 'max_axis_err_input', 'mean_err_image',
              'mean_oks', 'score')


@dataclass(frozen=True)
class Benchmark:
    """A data set the oracle runs on, with the metric that scores it.

    Args:
        dataset (str): Registered data set type.
        ann_file (str): Default annotation file.
        metric (dict): Metric config (``ann_file`` is filled in for
            ``CocoMetric``).
        score (str): Key of the metric's result shown in the last column.
    """
    dataset: str
    ann_file: str
    metric: dict
    score: str


# every person has score 1 and is kept: the oracle's boxes are the ground
# truth, so OKS-NMS could only drop a correct, overlapping person
_COCO_SCORING = dict(type='CocoMetric', score_mode='bbox', nms_mode='none')
BENCHMARKS = {
    'coco':
    Benchmark('CheckedCocoDataset',
              osp.join(DATA_ROOT, 'coco', 'test_coco.json'), _COCO_SCORING,
              'AP'),
    # as mmpose's CrowdPose configs: AP by crowd index, OKS area 0.53 x box
    'crowdpose':
    Benchmark('CheckedCrowdPoseDataset',
              osp.join(DATA_ROOT, 'crowdpose', 'test_crowdpose.json'),
              dict(_COCO_SCORING, use_area=False, iou_type='keypoints_crowd'),
              'AP'),
    # PCKh needs head boxes, which the bundled MPII file has not: PCK
    # normalised by the longer box side, at 0.05 rather than mmpose's 0.2 so
    # that a heatmap's quantisation can show
    'mpii':
    Benchmark(
        'CheckedMpiiDataset', osp.join(DATA_ROOT, 'mpii', 'test_mpii.json'),
        dict(type='PCKAccuracy', thr=0.05, norm_item='bbox', prefix='mpii'),
        'PCK'),
}


def heatmap_settings(input_size: Tuple[int, int]) -> Tuple[float, int]:
    """Heatmap sigma and DARK blur kernel for an input size.

    mmpose's COCO configs (and HRNet's, which SimDR and DARK follow) use
    sigma 2 with kernel 11 up to 256x192 (DARK Tables 1/3 at 128x96 too)
    and sigma 3 with kernel 17 at 384x288; OpenCV's kernel sigma
    ``0.3 ((ks - 1) / 2 - 1) + 0.8`` is 2.0 for 11 and 2.9 for 17.

    Args:
        input_size (tuple): ``(w, h)``.

    Returns:
        tuple: ``(sigma, blur_kernel_size)``.
    """
    return (3.0, 17) if max(input_size) >= 384 else (2.0, 11)


@dataclass(frozen=True)
class OracleCodec:
    """One oracle row's codec.

    Args:
        name (str): Row label.
        settings (str): Human-readable settings.
        cfg (dict): Codec config, as a config's ``codec``.
    """
    name: str
    settings: str
    cfg: dict


def quantisation_bound(codec) -> Optional[float]:
    """SimDR Appendix D's per-axis bound of a built codec, if it has one.

    ``1 / (2k)`` for SimDR labels decoded by argmax, ``lambda / 2`` for a
    biased heatmap (symmetric about its integer peak, so the 1/4-pixel
    shift has nothing to go on) decoded by argmax or shift; ``None`` for
    sub-bin decoders (SimDR* ``decode_refine``, unbiased heatmaps, DARK).

    Args:
        codec (BaseKeypointCodec): simdr_ext's SimDRLabel, SASimDRLabel or
            DarkHeatmap, or mmpose's SimCCLabel or MSRAHeatmap.

    Returns:
        float, optional: The bound in input pixels.
    """
    # simdr_ext's split_ratio, mmpose's simcc_split_ratio
    k = getattr(codec, 'split_ratio', getattr(codec, 'simcc_split_ratio',
                                              None))
    if k is not None:
        return None if getattr(codec, 'decode_refine', False) else 0.5 / k
    if not hasattr(codec, 'heatmap_size'):
        return None
    lam = max(i / o for i, o in zip(codec.input_size, codec.heatmap_size))
    # MSRAHeatmap decodes by shift; DarkHeatmap as decode_mode says
    quantised = not codec.unbiased and getattr(codec, 'decode_mode',
                                               'shift') in ('argmax', 'shift')
    return lam / 2 if quantised else None


def oracle_codecs(input_size: Tuple[int, int]) -> List[OracleCodec]:
    """The codecs compared at one input size.

    SimDRLabel with k = 1, 2, 3 (and 1.5 at 384x288); SASimDRLabel with
    the paper's k (``paper_split_ratio``) and sigma 6 bins, with and
    without ``decode_refine``, and mmpose's Gaussian ``SimCCLabel`` at the
    same settings as its reference row; DarkHeatmap with the encoder x
    decoder combinations of DARK Tables 1 and 3 (biased: argmax / shift /
    dark; unbiased: shift / dark); and mmpose's
    ``MSRAHeatmap(unbiased=False)`` (standard encoding, shift decoding) as
    the heatmaps' reference row.

    Args:
        input_size (tuple): ``(w, h)``.

    Returns:
        list: :class:`OracleCodec` rows.
    """
    w, h = input_size
    rows = []
    ks = [1.0, 2.0, 3.0] + ([1.5] if tuple(input_size) == (288, 384) else [])
    for k in sorted(ks):
        rows.append(
            OracleCodec(
                f'SimDRLabel k={k:g}', f'k={k:g}, one-hot',
                dict(type='SimDRLabel', input_size=input_size, split_ratio=k)))
    k = paper_split_ratio(input_size)
    star = f'k={k:g}, sigma={SIMDR_SIGMA:g} bins'
    for refine in (False, True):
        rows.append(
            OracleCodec(
                'SASimDRLabel' + (' +refine' if refine else ''),
                star + ', log(label) logits',
                dict(
                    type='SASimDRLabel',
                    input_size=input_size,
                    split_ratio=k,
                    sigma=SIMDR_SIGMA,
                    decode_refine=refine)))
    rows.append(
        OracleCodec(
            'SimCCLabel (mmpose, reference)', star + ', Gaussian labels',
            dict(
                type='SimCCLabel',
                input_size=input_size,
                smoothing_type='gaussian',
                sigma=SIMDR_SIGMA,
                simcc_split_ratio=k)))
    sigma, blur = heatmap_settings(input_size)
    heatmap = dict(
        input_size=input_size,
        heatmap_size=(w // HEATMAP_STRIDE, h // HEATMAP_STRIDE),
        sigma=sigma)
    common = f'heatmap {h // HEATMAP_STRIDE}x{w // HEATMAP_STRIDE}, ' \
        f'sigma={sigma:g}'
    for unbiased, mode in ((False, 'argmax'), (False, 'shift'),
                           (False, 'dark'), (True, 'shift'), (True, 'dark')):
        enc = 'unbiased' if unbiased else 'biased'
        rows.append(
            OracleCodec(
                f'DarkHeatmap {enc}+{mode}',
                common + (f', blur {blur}' if mode == 'dark' else ''),
                dict(
                    heatmap,
                    type='DarkHeatmap',
                    unbiased=unbiased,
                    decode_mode=mode,
                    blur_kernel_size=blur)))
    rows.append(
        OracleCodec('MSRAHeatmap (mmpose, reference)',
                    common + ', unbiased=False: standard encoding + shift',
                    dict(heatmap, type='MSRAHeatmap', unbiased=False)))
    return rows


def config_codecs(configs: Sequence[str]) -> List[OracleCodec]:
    """The ``codec`` of config files as oracle rows, one per distinct codec.

    Args:
        configs (Sequence[str]): Config files stating ``codec = dict(...)``.

    Returns:
        list: :class:`OracleCodec` rows at their codec's own input size,
        each named after the first file that states it and how many more
        state the same codec.
    """
    found: Dict[str, Tuple[str, dict, int]] = {}
    for config in configs:
        cfg = Config.fromfile(config)
        if 'codec' not in cfg:
            raise ValueError(f'config {config} states no "codec"')
        codec = cfg.codec.to_dict()
        key = repr(sorted(codec.items()))
        name = osp.splitext(osp.basename(config))[0]
        name, _, count = found.get(key, (name, codec, 0))
        found[key] = (name, codec, count + 1)
    rows = []
    for name, codec, count in found.values():
        settings = ', '.join(f'{k}={v}' for k, v in codec.items()
                             if k not in ('type', 'input_size'))
        rows.append(
            OracleCodec(name + (f' (+{count - 1} alike)' if count > 1 else ''),
                        f"{codec['type']}: {settings}", codec))
    return rows


def load_people(benchmark: Benchmark,
                ann_file: Optional[str] = None,
                img_dir: Optional[str] = None) -> Tuple[object, List[dict]]:
    """The data set's people that have a visible keypoint.

    The data set is mmpose's (checked) class in test mode: non-crowd
    instances with ``num_keypoints > 0``, bbox clipped to the image,
    float32 keypoints, visibility ``min(1, v)``. A person whose
    ``num_keypoints`` claims keypoints but who has none with ``v > 0`` is
    skipped with a warning (a codec has nothing to encode).

    Args:
        benchmark (Benchmark): The data set.
        ann_file (str, optional): Annotation file. Defaults to the
            benchmark's bundled one.
        img_dir (str, optional): Folder of the images (not read; the
            checked data sets skip instances whose image is missing).
            Defaults to the annotation file's folder.

    Returns:
        tuple: The data set and the data infos of the selected people.
    """
    ann_file = osp.abspath(ann_file or benchmark.ann_file)
    with _quiet():
        dataset = DATASETS.build(
            dict(
                type=benchmark.dataset,
                ann_file=ann_file,
                data_root='',
                data_prefix=dict(img=img_dir or osp.dirname(ann_file)),
                data_mode='topdown',
                test_mode=True,
                serialize_data=False,
                pipeline=[]))
    people = []
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        if not (info['keypoints_visible'] > 0).any():
            warnings.warn(f'annotation {info.get("id")} (image '
                          f'{info.get("img_id")}) has no keypoint with v > 0: '
                          'skipped')
            continue
        people.append(info)
    if not people:
        raise ValueError(f'{ann_file} has no person with visible keypoints')
    return dataset, people


def ideal_output(codec_type: str, encoded: dict) -> Tuple[np.ndarray, ...]:
    """What a perfectly trained network outputs for an encoded target.

    Args:
        codec_type (str): The codec's registered type.
        encoded (dict): ``GenerateTarget``'s results: ``heatmaps``
            (K, H, W), or ``keypoint_x_labels`` (1, K, Wx) and
            ``keypoint_y_labels`` (1, K, Wy).

    Returns:
        tuple: The arguments of the codec's ``decode``.
    """
    if 'heatmaps' in encoded:
        return (encoded['heatmaps'], )
    labels = (encoded['keypoint_x_labels'], encoded['keypoint_y_labels'])
    if codec_type in KL_TRAINED:
        tiny = np.finfo(np.float32).tiny
        labels = tuple(np.log(np.maximum(lab, tiny)) for lab in labels)
    return labels


#: ``add_pred_to_datasample`` reads nothing of its model but ``test_cfg``
_NO_MODEL = SimpleNamespace(test_cfg={})
#: what ``add_pred_to_datasample`` and the metrics read of a sample's
#: metainfo (they have the annotation file, so not ``raw_ann_info``)
_PACK = PackPoseInputs(
    meta_keys=('id', 'img_id', 'category_id', 'input_size', 'input_center',
               'input_scale'))
_PIXEL = np.zeros((1, 1, 3), np.uint8)


@contextlib.contextmanager
def _quiet():
    """Silence mmengine's log lines and xtcocotools' prints."""
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        logger.setLevel(level)


def warp_people(people: Sequence[dict], input_size: Tuple[int, int],
                padding: float) -> Tuple[List[dict], Dict[str, np.ndarray]]:
    """``GetBBoxCenterScale`` + ``TopdownAffine`` of every person.

    Args:
        people (Sequence[dict]): Data infos from :func:`load_people`.
        input_size (tuple): ``(w, h)``.
        padding (float): Bbox padding.

    Returns:
        tuple: The transforms' results, one per person, each with its
        ``data_sample`` (``PackPoseInputs``'s), and the ground truth of
        all P people: ``input`` (P, K, 2) and ``image`` (P, K, 2)
        keypoints, ``visible`` and ``inside`` the input (P, K) and OKS
        ``areas`` (P, ).
    """
    affine = Compose([
        GetBBoxCenterScale(padding=padding),
        TopdownAffine(input_size=input_size)
    ])
    samples = []
    for info in people:
        with warnings.catch_warnings():
            # MPII states centre and scale: mmpose pads those instead
            warnings.filterwarnings('ignore', 'Use the existing')
            # no pixels: TopdownAffine warps each image of a list, here
            # none, and PackPoseInputs packs a 1x1 placeholder
            results = affine(dict(info, img=[]))
        results['data_sample'] = _PACK(dict(results,
                                            img=_PIXEL))['data_samples']
        samples.append(results)
    xy = np.concatenate([r['transformed_keypoints'] for r in samples])
    w, h = input_size
    truth = dict(
        input=xy.astype(np.float64),
        image=np.concatenate([r['keypoints'] for r in samples]),
        visible=np.concatenate([r['keypoints_visible'] for r in samples]) > 0,
        # where SimDR Appendix D's bound holds: mmpose's codecs also encode
        # keypoints a little off the input, at clipped bins or pixels
        inside=(xy >= 0).all(-1) & (xy[..., 0] <= w - 1)
        & (xy[..., 1] <= h - 1),
        areas=np.array([np.asarray(r['area']).item() for r in samples]))
    return samples, truth


def mean_oks(pred: np.ndarray, truth: Dict[str, np.ndarray],
             sigmas: np.ndarray) -> float:
    """Mean OKS (SimDR eq. 8) of paired predictions, by mmpose's ``oks_iou``.

    Args:
        pred (np.ndarray): Image pixels in shape (P, K, 2).
        truth (dict): From :func:`warp_people`.
        sigmas (np.ndarray): Per-keypoint sigmas in shape (K, ).

    Returns:
        float: OKS over each person's visible keypoints, averaged over
        people.
    """
    oks = []
    for xy, gt, vis, area in zip(pred, truth['image'], truth['visible'],
                                 truth['areas']):
        g = np.concatenate([gt, vis[:, None]], 1).ravel()
        d = np.concatenate([xy, np.ones_like(xy[:, :1])], 1).reshape(1, -1)
        oks.append(oks_iou(g, d, area, np.array([area]), sigmas, 0)[0])
    return float(np.mean(oks))


def evaluate_codec(codec: OracleCodec, samples: Sequence[dict],
                   truth: Dict[str,
                               np.ndarray], metric, score_key: str) -> dict:
    """One oracle row: encode, decode the target itself, back-project, score.

    Args:
        codec (OracleCodec): The row's codec.
        samples (Sequence[dict]): The people, from :func:`warp_people`.
        truth (dict): Their ground truth, from :func:`warp_people`.
        metric: The data set's metric, ``dataset_meta`` set.
        score_key (str): Key of the metric's result to report.

    Returns:
        dict: The keys of ``ROW_FIELDS`` but ``size``.
    """
    target = GenerateTarget(encoder=codec.cfg)
    decoded, image, weights = [], [], []
    for results in samples:
        encoded = target(dict(results))
        keypoints, scores = target.encoder.decode(
            *ideal_output(codec.cfg['type'], encoded))
        decoded.append(keypoints[0].astype(np.float64))
        weights.append(encoded['keypoint_weights'][0])
        sample = results['data_sample'].clone()
        TopdownPoseEstimator.add_pred_to_datasample(
            _NO_MODEL,
            [InstanceData(keypoints=keypoints, keypoint_scores=scores)], None,
            [sample])
        image.append(sample.pred_instances.keypoints[0])
        metric.process([], [sample.to_dict()])
    with _quiet():
        result = metric.evaluate(len(samples))
    delta = np.stack(decoded) - truth['input']
    image = np.stack(image)
    used = truth['visible'] & (np.stack(weights) > 0)
    sigmas = metric.dataset_meta.get('sigmas')
    return dict(
        codec=codec.name,
        settings=codec.settings,
        bound=quantisation_bound(target.encoder),
        n_kpt=int(used.sum()),
        n_visible=int(truth['visible'].sum()),
        mean_err_input=float(np.linalg.norm(delta, axis=-1)[used].mean()),
        max_axis_err_input=float(
            np.abs(delta).max(-1)[used & truth['inside']].max(initial=0)),
        mean_err_image=float(
            np.linalg.norm(image - truth['image'], axis=-1)[used].mean()),
        mean_oks=float('nan') if sigmas is None else mean_oks(
            image, truth, sigmas),
        score=float(result[f'{metric.prefix}/{score_key}']))


def run_oracle(dataset: str = 'coco',
               sizes: Sequence[str] = ORACLE_SIZES,
               padding: float = BBOX_PADDING,
               ann_file: Optional[str] = None,
               img_dir: Optional[str] = None,
               configs: Sequence[str] = ()) -> List[dict]:
    """Every oracle codec at every size on the people of a data set.

    Args:
        dataset (str): A key of ``BENCHMARKS``. Defaults to ``'coco'``.
        sizes (Sequence[str]): ``'HxW'`` input sizes. Defaults to 64x64,
            128x128, 256x192 and 384x288.
        padding (float): Bbox padding. Defaults to 1.25.
        ann_file (str, optional): Annotation file. Defaults to the bundled
            one of ``dataset``.
        img_dir (str, optional): See :func:`load_people`.
        configs (Sequence[str]): Config files whose ``codec`` is added as a
            row at its own input size (:func:`config_codecs`). Defaults to
            none.

    Returns:
        list: Row dicts with the keys of ``ROW_FIELDS``, smallest input
        first: errors in input and image pixels are the mean Euclidean
        distance over the visible keypoints that the codec encodes
        (weight > 0; ``n_kpt`` of ``n_visible``), ``max_axis_err_input``
        the largest per-axis error of those inside the input (the quantity
        SimDR Appendix D bounds by ``bound``); ``mean_oks`` (the data
        set's sigmas and areas; NaN without sigmas) and ``score`` (the
        metric's AP or PCK in [0, 1]) use all visible keypoints, as the
        metrics do.
    """
    if dataset not in BENCHMARKS:
        raise ValueError(f'dataset {dataset!r}: expected one of '
                         f'{sorted(BENCHMARKS)}')
    if not padding > 0:
        raise ValueError(f'padding {padding!r}: expected a positive number')
    benchmark = BENCHMARKS[dataset]
    data, people = load_people(benchmark, ann_file, img_dir)
    metric_cfg = dict(benchmark.metric)
    if metric_cfg['type'] == 'CocoMetric':
        metric_cfg['ann_file'] = data.ann_file
    with _quiet():
        metric = METRICS.build(metric_cfg)
    metric.dataset_meta = data.metainfo
    plan: Dict[Tuple[int, int], List[OracleCodec]] = {}
    for size in sizes:
        plan.setdefault(parse_size(size),
                        []).extend(oracle_codecs(parse_size(size)))
    for codec in config_codecs(configs):
        plan.setdefault(tuple(codec.cfg['input_size']), []).append(codec)
    rows = []
    for (w, h), codecs in sorted(
            plan.items(), key=lambda p: (p[0][0] * p[0][1], p[0])):
        samples, truth = warp_people(people, (w, h), padding)
        for codec in codecs:
            row = evaluate_codec(codec, samples, truth, metric,
                                 benchmark.score)
            rows.append(dict(size=f'{h}x{w}', **row))
    return rows


def float32_tolerance(input_size: Tuple[int, int]) -> float:
    """Float32 rounding of a decoded input-pixel coordinate.

    Decoded keypoints and the affine-mapped targets are float32; a value
    below ``max(w, h)`` is off by at most half an ulp each, so one ulp
    ``np.spacing(np.float32(max(w, h)))`` bounds the sum.

    Args:
        input_size (tuple): ``(w, h)``.

    Returns:
        float: The tolerance in input pixels (3e-5 at 384).
    """
    return float(np.spacing(np.float32(max(input_size))))


def bound_violations(rows: Sequence[dict]) -> List[dict]:
    """Rows whose largest per-axis error exceeds their quantisation bound
    by more than float32 rounding."""
    return [
        r for r in rows
        if r['bound'] is not None and r['max_axis_err_input'] > r['bound'] +
        float32_tolerance(parse_size(r['size']))
    ]


def _num(value: float) -> str:
    """Four decimals, or two significant digits below 1e-3; '-' for NaN."""
    if np.isnan(value):
        return '-'
    if value == 0 or abs(value) >= 1e-3:
        return f'{value:.4f}'
    return f'{value:.1e}'


def format_table(rows: Sequence[dict], score: str = 'AP') -> str:
    """Markdown table of oracle rows.

    Args:
        rows (Sequence[dict]): Rows of :func:`run_oracle`.
        score (str): Header of the metric's column. Defaults to ``'AP'``.

    Returns:
        str: The table.
    """
    lines = [
        '| size | codec | settings | bound/axis (in px) | kpts | '
        'mean err (in px) | max axis err (in px) | mean err (img px) | '
        f'mean OKS | {score} |',
        '|---|---|---|---:|---:|---:|---:|---:|---:|---:|'
    ]
    for r in rows:
        bound = '-' if r['bound'] is None else f"{r['bound']:.4f}"
        lines.append(
            f"| {r['size']} | {r['codec']} | {r['settings']} | {bound} | "
            f"{r['n_kpt']}/{r['n_visible']} | {_num(r['mean_err_input'])} | "
            f"{_num(r['max_axis_err_input'])} | "
            f"{_num(r['mean_err_image'])} | {_num(r['mean_oks'])} | "
            f"{r['score']:.4f} |")
    return '\n'.join(lines)


def _size(text: str) -> str:
    """An argparse type: ``text`` if :func:`parse_size` accepts it."""
    try:
        parse_size(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err))
    return text


def build_parser() -> argparse.ArgumentParser:
    """The command line: the module docstring is its description, its
    examples the epilog."""
    parser = tool_parser(__doc__)
    parser.add_argument(
        '--dataset',
        choices=sorted(BENCHMARKS),
        default='coco',
        help='data set (and metric) of the people')
    parser.add_argument(
        '--ann-file',
        help='annotation file (without it: the bundled tests/data file of '
        '--dataset)')
    parser.add_argument(
        '--img-dir',
        help='image folder; images are not read, but instances whose image '
        'is missing are skipped (without it: the annotation file\'s '
        'folder)')
    parser.add_argument(
        '--sizes',
        nargs='*',
        type=_size,
        metavar='HxW',
        default=list(ORACLE_SIZES),
        help='input sizes, height x width as the papers write them (none: '
        'only the --config rows)')
    parser.add_argument(
        '--config',
        nargs='+',
        default=[],
        help='config files whose codec is added as a row at its own size '
        '(one row per distinct codec)')
    parser.add_argument(
        '--padding', type=float, default=BBOX_PADDING, help='bbox padding')
    return parser


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.padding > 0:
        parser.error(f'--padding {args.padding}: expected a positive number')
    for config in args.config:
        if not osp.isfile(config):
            parser.error(f'--config {config}: no such file')
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    benchmark = BENCHMARKS[args.dataset]
    ann_file = args.ann_file or benchmark.ann_file
    rows = run_oracle(args.dataset, args.sizes, args.padding, ann_file,
                      args.img_dir, args.config)
    metric = benchmark.metric['type']
    print(f'# Representation oracle on {osp.relpath(ann_file)}')
    print()
    print(f'- people: {benchmark.dataset} (mmpose\'s, test mode, top-down); '
          f'GetBBoxCenterScale (padding {args.padding:g}) + TopdownAffine + '
          'GenerateTarget; back to the image by '
          'TopdownPoseEstimator.add_pred_to_datasample (keypoints / '
          'input_size * scale + center - 0.5 * scale)')
    print(
        '- decoded: the target itself (an ideal network): SimDR one-hot '
        'labels, SimCC labels and heatmaps as they are, SimDR* as log(label) '
        'logits (the softmax of a KL-trained ideal output)')
    print(
        '- errors: mean Euclidean distance over the visible keypoints the '
        'codec encodes (kpts); max axis err, over those inside the input, is '
        'the per-axis quantity SimDR Appendix D bounds (1/(2k) for SimDR, '
        f'lambda/2 for an argmax heatmap); mean OKS (the data set\'s sigmas '
        'and areas) and '
        f'{benchmark.score} ({metric}, score 1, no NMS) use every visible '
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
    print(format_table(rows, benchmark.score))
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
