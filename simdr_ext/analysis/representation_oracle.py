# Copyright (c) simdr_ext contributors. All rights reserved.
"""The representation oracle: how much a codec alone loses on real people.

SimDR Appendix D bounds the quantisation error of a coordinate encoding:
below ``1 / (2k)`` input pixels per axis for SimDR with splitting factor
``k``, below ``lambda / 2`` for a heatmap downsampled ``lambda`` times and
decoded by argmax; DARK Tables 1 and 3 show what the decoder (argmax,
1/4-pixel shift, DARK's Taylor step) and the encoder (biased, i.e. centred
at ``round(g / lambda)``, or unbiased) add. This module measures that on
COCO annotations with no network at all: every ground-truth person goes
through mmpose's top-down affine, is encoded, the target itself is decoded
(what a perfectly trained network would output), and the keypoints are
mapped back to the image with the formula the model is evaluated with.

Pipeline, as mmpose's ``BaseCocoStyleDataset`` -> ``GetBBoxCenterScale``
-> ``TopdownAffine`` -> ``TopdownPoseEstimator.add_pred_to_datasample``:

1. the bbox ``(x, y, w, h)`` is clipped to the image as ``(x1, y1, x2,
   y2)`` in float32 (``parse_data_info``) and turned into centre and scale
   with ``padding = 1.25`` (``bbox_xyxy2cs``, which is ``bbox_xywh2cs`` of
   the clipped box; they differ from the raw box only at image borders);
2. the scale gets the input's aspect ratio (``TopdownAffine._fix_aspect_
   ratio``), ``get_warp_matrix(center, scale, rot=0, output_size=(w, h))``
   and ``cv2.transform`` map the float32 keypoints to input pixels;
3. decoded input-pixel keypoints go back with ``keypoints / input_size *
   scale + center - 0.5 * scale``.

What "the target itself" means per codec (the output of an ideal network):
SimDR's one-hot labels and the MSE heatmaps are passed as they are; a
SimDR* network is trained with a KL divergence, so its ideal logits are
``log(label)`` (their softmax is the label), and those are decoded.
"""
import contextlib
import io
import json
import os.path as osp
import warnings
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

import mmpose
from mmpose.datasets.datasets.utils import parse_pose_metainfo
from mmpose.datasets.transforms import TopdownAffine
from mmpose.registry import KEYPOINT_CODECS
from mmpose.structures.bbox import bbox_xyxy2cs, get_warp_matrix
from .codec_benchmark import paper_split_ratio, parse_size

ORACLE_SIZES = ('64x64', '128x128', '256x192', '384x288')
# the bundled file of a source checkout (simdr_ext is installed editable)
DEFAULT_ANN_FILE = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'tests',
    'data', 'coco', 'test_coco.json')
BBOX_PADDING = 1.25  # GetBBoxCenterScale's default, as mmpose's configs
SIMDR_SIGMA = 6.0  # SimDR* sigma in bins: mmpose's / the SimCC configs
HEATMAP_STRIDE = 4  # heatmap = input / 4 (SimpleBaseline, HRNet, DARK)
ROW_FIELDS = ('size', 'codec', 'settings', 'bound', 'n_kpt', 'n_visible',
              'mean_err_input', 'max_axis_err_input', 'mean_err_image',
              'mean_oks', 'ap')


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
        cfg (dict): Codec config for ``KEYPOINT_CODECS.build``.
        kind (str): ``'simdr'`` (labels decoded as they are), ``'sa'``
            (``log(label)`` decoded), ``'heatmap'`` (simdr_ext, all people
            in one call) or ``'mmpose_heatmap'`` (one call per person).
        bound (float, optional): Per-axis quantisation bound in input
            pixels for argmax-type decoders (SimDR Appendix D), else
            ``None``.
    """
    name: str
    settings: str
    cfg: dict
    kind: str
    bound: Optional[float]


def oracle_codecs(input_size: Tuple[int, int]) -> List[OracleCodec]:
    """The codecs compared at one input size.

    SimDRLabel with k = 1, 2, 3 (and 1.5 at 384x288); SASimDRLabel with
    the paper's k (:func:`paper_split_ratio`) and sigma 6 bins, with and
    without ``decode_refine``; DarkHeatmap with the encoder x decoder
    combinations of DARK Tables 1 and 3 (biased: argmax / shift / dark;
    unbiased: shift / dark); and mmpose's ``MSRAHeatmap(unbiased=False)``
    (standard encoding, shift decoding) as the reference row.

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
                dict(type='SimDRLabel', input_size=input_size, split_ratio=k),
                'simdr', 0.5 / k))
    k = paper_split_ratio(input_size)
    for refine in (False, True):
        rows.append(
            OracleCodec(
                'SASimDRLabel' + (' +refine' if refine else ''),
                f'k={k:g}, sigma={SIMDR_SIGMA:g} bins, log(label) logits',
                dict(
                    type='SASimDRLabel',
                    input_size=input_size,
                    split_ratio=k,
                    sigma=SIMDR_SIGMA,
                    decode_refine=refine), 'sa', None if refine else 0.5 / k))
    heatmap_size = (w // HEATMAP_STRIDE, h // HEATMAP_STRIDE)
    lam = max(w / heatmap_size[0], h / heatmap_size[1])
    sigma, blur = heatmap_settings(input_size)
    common = (f'heatmap {heatmap_size[1]}x{heatmap_size[0]}, '
              f'sigma={sigma:g}')
    for unbiased, mode in ((False, 'argmax'), (False, 'shift'),
                           (False, 'dark'), (True, 'shift'), (True, 'dark')):
        # a biased target is symmetric about its integer peak: the shift
        # is 0 and the argmax bound holds
        quantised = not unbiased and mode in ('argmax', 'shift')
        enc = 'unbiased' if unbiased else 'biased'
        rows.append(
            OracleCodec(
                f'DarkHeatmap {enc}+{mode}',
                common + (f', blur {blur}' if mode == 'dark' else ''),
                dict(
                    type='DarkHeatmap',
                    input_size=input_size,
                    heatmap_size=heatmap_size,
                    sigma=sigma,
                    unbiased=unbiased,
                    decode_mode=mode,
                    blur_kernel_size=blur), 'heatmap',
                lam / 2 if quantised else None))
    rows.append(
        OracleCodec(
            'MSRAHeatmap (mmpose, reference)',
            common + ', unbiased=False: standard encoding + shift',
            dict(
                type='MSRAHeatmap',
                input_size=input_size,
                heatmap_size=heatmap_size,
                sigma=sigma,
                unbiased=False), 'mmpose_heatmap', lam / 2))
    return rows


@dataclass
class People:
    """Ground-truth people of a COCO keypoint file, as mmpose loads them.

    Args:
        ann_ids (np.ndarray): Annotation ids in shape (P, ).
        image_ids (np.ndarray): Image ids in shape (P, ).
        keypoints (np.ndarray): Float32 image pixels in shape (P, K, 2).
        visible (np.ndarray): Float32 ``min(1, v)`` in shape (P, K).
        bboxes (np.ndarray): Float32 clipped ``(x1, y1, x2, y2)`` in shape
            (P, 4).
        areas (np.ndarray): Annotation areas in shape (P, ).
    """
    ann_ids: np.ndarray
    image_ids: np.ndarray
    keypoints: np.ndarray
    visible: np.ndarray
    bboxes: np.ndarray
    areas: np.ndarray


def load_people(ann_file: str) -> People:
    """Every non-crowd person with ``num_keypoints > 0``.

    As mmpose's ``BaseCocoStyleDataset.parse_data_info``: the bbox is
    clipped to the image, keypoints are float32 and visibility is
    ``min(1, v)``. A person whose ``num_keypoints`` claims keypoints but
    who has none with ``v > 0`` is skipped with a warning.

    Args:
        ann_file (str): COCO-format keypoint annotation file.

    Returns:
        People: The selected people (P >= 1).
    """
    with open(ann_file) as f:
        data = json.load(f)
    images = {img['id']: img for img in data['images']}
    rows = []
    for ann in data['annotations']:
        if ann.get('iscrowd', 0) or 'keypoints' not in ann \
                or 'bbox' not in ann:
            continue
        kpts = np.array(ann['keypoints'], dtype=np.float32).reshape(-1, 3)
        num = ann.get('num_keypoints', int((kpts[:, 2] > 0).sum()))
        if num <= 0:
            continue
        if not (kpts[:, 2] > 0).any():
            warnings.warn(
                f'annotation {ann.get("id")} (image {ann["image_id"]}) has '
                f'num_keypoints={num} but no keypoint with v > 0: skipped')
            continue
        img = images[ann['image_id']]
        x, y, w, h = ann['bbox']
        bbox = np.array([
            np.clip(x, 0, img['width'] - 1),
            np.clip(y, 0, img['height'] - 1),
            np.clip(x + w, 0, img['width'] - 1),
            np.clip(y + h, 0, img['height'] - 1)
        ],
                        dtype=np.float32)
        rows.append((ann.get('id'), ann['image_id'], kpts[:, :2],
                     np.minimum(1, kpts[:, 2]), bbox, ann['area']))
    if not rows:
        raise ValueError(f'{ann_file} has no non-crowd person with visible '
                         'keypoints')
    ids, img_ids, kpts, vis, bboxes, areas = zip(*rows)
    return People(
        np.array(ids), np.array(img_ids), np.stack(kpts), np.stack(vis),
        np.stack(bboxes), np.array(areas, dtype=np.float64))


def topdown_affine(people: People,
                   input_size: Tuple[int, int],
                   padding: float = BBOX_PADDING) -> Dict[str, np.ndarray]:
    """mmpose's top-down affine of every person (no rotation, no flip).

    ``GetBBoxCenterScale`` (``bbox_xyxy2cs`` with ``padding``), then
    ``TopdownAffine``: its aspect-ratio fix, ``get_warp_matrix`` and
    ``cv2.transform`` of the float32 keypoints.

    Args:
        people (People): From :func:`load_people`.
        input_size (tuple): ``(w, h)``.
        padding (float): Bbox padding. Defaults to 1.25.

    Returns:
        dict: ``center`` and ``scale`` (float32, (P, 2), the
        ``input_center`` / ``input_scale`` metainfo) and ``keypoints``
        (float32 input pixels, (P, K, 2)).
    """
    w, h = input_size
    center, scale = bbox_xyxy2cs(people.bboxes, padding=padding)
    # the static method TopdownAffine.transform calls, so the two agree
    scale = TopdownAffine._fix_aspect_ratio(scale, aspect_ratio=w / h)
    keypoints = np.empty_like(people.keypoints)
    for i in range(len(center)):  # one 2x3 matrix per person
        warp = get_warp_matrix(center[i], scale[i], 0., output_size=(w, h))
        keypoints[i] = cv2.transform(people.keypoints[i:i + 1], warp)[0]
    return dict(center=center, scale=scale, keypoints=keypoints)


def to_image(keypoints: np.ndarray, input_size: Tuple[int, int],
             center: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Input pixels -> image pixels, as ``add_pred_to_datasample``.

    Args:
        keypoints (np.ndarray): Input pixels in shape (P, K, 2).
        input_size (tuple): ``(w, h)``.
        center (np.ndarray): Bbox centres in shape (P, 2).
        scale (np.ndarray): Bbox scales in shape (P, 2).

    Returns:
        np.ndarray: Image pixels in shape (P, K, 2).
    """
    center, scale = center[:, None], scale[:, None]
    return keypoints / input_size * scale + center - 0.5 * scale


def coco_metainfo_file() -> str:
    """mmpose's COCO metainfo config, as its datasets resolve it.

    Returns:
        str: The installed ``.mim`` copy, else the source-checkout path.
    """
    path = osp.join(
        osp.dirname(mmpose.__file__), '.mim', 'configs', '_base_', 'datasets',
        'coco.py')
    return path if osp.isfile(path) else 'configs/_base_/datasets/coco.py'


def coco_sigmas() -> np.ndarray:
    """COCO's 17 OKS sigmas from mmpose's coco metainfo.

    Returns:
        np.ndarray: Sigmas in shape (17, ).
    """
    metainfo = parse_pose_metainfo(dict(from_file=coco_metainfo_file()))
    return np.asarray(metainfo['sigmas'])


def mean_oks(pred: np.ndarray, gt: np.ndarray, visible: np.ndarray,
             areas: np.ndarray, sigmas: np.ndarray) -> float:
    """Mean OKS (SimDR eq. 8) of paired predictions, as COCOeval's computeOks.

    ``exp(-d^2 / (2 area (2 sigma)^2))`` averaged over the keypoints with
    ``v > 0``, then over people.

    Args:
        pred (np.ndarray): Predicted image pixels in shape (P, K, 2).
        gt (np.ndarray): Ground-truth image pixels in shape (P, K, 2).
        visible (np.ndarray): Visibility in shape (P, K).
        areas (np.ndarray): Person areas in shape (P, ).
        sigmas (np.ndarray): Per-keypoint sigmas in shape (K, ).

    Returns:
        float: The mean OKS in [0, 1].
    """
    d2 = ((pred.astype(np.float64) - gt)**2).sum(-1)
    e = d2 / (2 * sigmas**2 * 4) / (areas[:, None] + np.spacing(1))
    vis = visible > 0
    oks = (np.exp(-e) * vis).sum(1) / np.maximum(vis.sum(1), 1)
    return float(oks.mean())


def coco_ap(coco_gt, people: People, pred: np.ndarray,
            sigmas: np.ndarray) -> float:
    """COCO keypoint AP of predictions with score 1 (xtcocotools).

    Args:
        coco_gt (xtcocotools.coco.COCO): The ground truth.
        people (People): Who each prediction belongs to.
        pred (np.ndarray): Image pixels in shape (P, K, 2).
        sigmas (np.ndarray): Per-keypoint sigmas in shape (K, ).

    Returns:
        float: AP at OKS 0.50:0.95 (``stats[0]``).
    """
    from xtcocotools.cocoeval import COCOeval
    results = []
    for img_id, kpts in zip(people.image_ids, pred):
        flat = np.concatenate([kpts, np.ones((len(kpts), 1))], 1)
        results.append(
            dict(
                image_id=int(img_id),
                category_id=1,
                keypoints=[float(v) for v in flat.ravel()],
                score=1.0))
    with contextlib.redirect_stdout(io.StringIO()):
        coco_dt = coco_gt.loadRes(results)
        evaluator = COCOeval(coco_gt, coco_dt, 'keypoints', sigmas, True)
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return float(evaluator.stats[0])


def oracle_decode(codec: OracleCodec, keypoints: np.ndarray,
                  visible: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Encode input-pixel keypoints and decode the targets themselves.

    Args:
        codec (OracleCodec): The codec row.
        keypoints (np.ndarray): Input pixels in shape (P, K, 2).
        visible (np.ndarray): Visibility in shape (P, K).

    Returns:
        tuple: decoded input pixels (P, K, 2) and the codec's keypoint
        weights (P, K).
    """
    coder = KEYPOINT_CODECS.build(codec.cfg)
    num, k = visible.shape
    if codec.kind == 'mmpose_heatmap':  # its encode asserts N == 1
        decoded, weights = [], []
        for i in range(num):
            enc = coder.encode(keypoints[i:i + 1], visible[i:i + 1])
            decoded.append(coder.decode(enc['heatmaps'])[0])
            weights.append(enc['keypoint_weights'])
        return np.concatenate(decoded), np.concatenate(weights)
    if codec.kind == 'heatmap':
        # one call: (1, P K) keypoints give P K single-keypoint maps,
        # exactly the per-person targets (N > 1 would merge people)
        enc = coder.encode(
            keypoints.reshape(1, num * k, 2), visible.reshape(1, num * k))
        maps = enc['heatmaps'].reshape(num, k, *enc['heatmaps'].shape[1:])
        return coder.decode(maps)[0], enc['keypoint_weights'].reshape(num, k)
    enc = coder.encode(keypoints, visible)
    labels = [enc['keypoint_x_labels'], enc['keypoint_y_labels']]
    if codec.kind == 'sa':
        tiny = np.finfo(np.float32).tiny
        labels = [np.log(np.maximum(lab, tiny)) for lab in labels]
    return coder.decode(*labels)[0], enc['keypoint_weights']


def run_oracle(ann_file: str = DEFAULT_ANN_FILE,
               sizes: Sequence[str] = ORACLE_SIZES,
               padding: float = BBOX_PADDING) -> List[dict]:
    """Every oracle codec at every size on the people of ``ann_file``.

    Args:
        ann_file (str): COCO keypoint file. Defaults to the bundled
            ``tests/data/coco/test_coco.json``.
        sizes (Sequence[str]): ``'HxW'`` input sizes. Defaults to 64x64,
            128x128, 256x192 and 384x288.
        padding (float): Bbox padding. Defaults to 1.25.

    Returns:
        list: Row dicts with the keys of ``ROW_FIELDS``: errors in input
        and image pixels are the mean Euclidean distance over the visible
        keypoints that the codec encodes (weight > 0; ``n_kpt`` of
        ``n_visible``), ``max_axis_err_input`` the largest per-axis error
        (the quantity SimDR Appendix D bounds by ``bound``); ``mean_oks``
        and ``ap`` use all visible keypoints, as COCO does.
    """
    from xtcocotools.coco import COCO
    people = load_people(ann_file)
    sigmas = coco_sigmas()
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO(ann_file)
    rows = []
    for size in sizes:
        input_size = parse_size(size)
        affine = topdown_affine(people, input_size, padding)
        target = affine['keypoints'].astype(np.float64)
        for codec in oracle_codecs(input_size):
            decoded, weights = oracle_decode(codec, affine['keypoints'],
                                             people.visible)
            mask = (people.visible > 0) & (weights > 0)
            delta = decoded.astype(np.float64) - target
            image = to_image(decoded, input_size, affine['center'],
                             affine['scale'])
            err_img = np.linalg.norm(image - people.keypoints, axis=-1)
            err_in = np.linalg.norm(delta, axis=-1)
            axis_err = np.abs(delta).max(-1)
            rows.append(
                dict(
                    size=size,
                    codec=codec.name,
                    settings=codec.settings,
                    bound=codec.bound,
                    n_kpt=int(mask.sum()),
                    n_visible=int((people.visible > 0).sum()),
                    mean_err_input=float(err_in[mask].mean()),
                    max_axis_err_input=float(axis_err[mask].max()),
                    mean_err_image=float(err_img[mask].mean()),
                    mean_oks=mean_oks(image, people.keypoints, people.visible,
                                      people.areas, sigmas),
                    ap=coco_ap(coco_gt, people, image, sigmas)))
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


__all__ = [
    'ORACLE_SIZES', 'DEFAULT_ANN_FILE', 'OracleCodec', 'People',
    'oracle_codecs', 'load_people', 'topdown_affine', 'to_image',
    'coco_metainfo_file', 'coco_sigmas', 'mean_oks', 'coco_ap',
    'oracle_decode', 'run_oracle', 'heatmap_settings', 'float32_tolerance'
]
