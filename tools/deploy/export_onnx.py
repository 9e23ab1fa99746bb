# Copyright (c) simdr_ext contributors. All rights reserved.
"""Export a simdr_ext model to ONNX with its decoder in the graph.

Inputs: image crops (B, 3, h, w), BGR float 0-255 as TopdownAffine makes
them; outputs: keypoints (B, K, 2) in crop pixels and scores (B, K) (SimDR
models also simcc_x and simcc_y, the 1D distributions). The crop geometry
(input size, box padding, UDP) and the flip-test setting are stored as
metadata, so simdr_runtime.OnnxPoseRuntime runs the file with numpy, OpenCV
and onnxruntime only. The export is checked with onnxruntime against
PyTorch on real crops of an annotation file (COCO format, read with the
config's keypoint metainfo), and the largest difference printed; the exit
status is 1 when it exceeds --atol.

The crops come from --ann-file and --images; without them, from the
config's own test annotation file and images where those exist, else from
the COCO people bundled with simdr_ext (17 keypoints), wherever the command
runs from (also as "mim run simdr_ext export_onnx").

--flip-test config puts the config's flip test inside the graph;
--precision fp16 runs the network in float16 and decodes in float32;
--precision int8 quantizes the float32 graph statically with onnxruntime
(calibrated on the bundled COCO, CrowdPose and MPII people; the head's
last two weighted layers and the decoder stay float32, see
simdr_ext/deploy/quantize.py). For fp16 and int8 the tool also prints
their parity with the float32 ONNX export on the bundled people: the
share of keypoints within 0.25 and 0.5 input px and the largest score
difference. --atol applies to fp32 and fp16 (against PyTorch in the
same precision); int8 is judged by its printed parity.

Example:
    python tools/deploy/export_onnx.py \\
        configs/quickstart/simdr_res18_1xb12-300e_coco-mini-128x96.py \\
        work_dirs/quickstart/epoch_300.pth --out model.onnx
"""
import argparse
import os.path as osp
import sys
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

import simdr_ext  # noqa: F401  (registers the modules)
from simdr_ext.datasets import bundled_data_root
from simdr_ext.deploy import PRECISIONS, DecodedPoseModel, export_onnx
from simdr_ext.deploy.quantize import PARITY_SETS
from simdr_ext.engine import load_checked_checkpoint
from simdr_ext.utils.cli import HelpFormatter


def check_max_crops(max_crops) -> int:
    if int(max_crops) != max_crops or max_crops < 1:
        raise ValueError(f'max_crops must be a positive integer (crops to '
                         f'compare), got {max_crops!r}')
    return int(max_crops)


def config_metainfo(cfg) -> Optional[dict]:
    """The keypoint metainfo of the config's test data set: its
    ``metainfo`` (e.g. ``dict(from_file=...)``), else its data set class's
    ``METAINFO`` (``None`` where neither exists)."""
    from mmpose.registry import DATASETS
    dataset = cfg.test_dataloader.dataset
    if dataset.get('metainfo') is not None:
        return dataset.metainfo
    kind = dataset.get('type')
    cls = DATASETS.get(kind) if isinstance(kind, str) else kind
    return getattr(cls, 'METAINFO', None)


def default_data(cfg, image_folder: Optional[str],
                 ann_file: Optional[str]) -> Tuple[str, str]:
    """``(image_folder, ann_file)`` for :func:`real_crops`: the ones given;
    for those left ``None``, the config's test annotation file and image
    folder (joined with ``data_root``) where the annotation file exists,
    else the bundled COCO people (``simdr_ext.datasets.bundled_data_root``;
    images beside a given annotation file). Never relative to the current
    folder unless given so."""
    if image_folder is not None and ann_file is not None:
        return image_folder, ann_file
    dataset = cfg.test_dataloader.dataset
    root = dataset.get('data_root') or ''
    own_ann = osp.join(root, dataset.get('ann_file') or '')
    own_img = osp.join(root, (dataset.get('data_prefix') or {}).get(
        'img', ''))
    if ann_file is None and osp.isfile(own_ann):
        return (own_img if image_folder is None else image_folder), own_ann
    if ann_file is None:
        ann_file = bundled_data_root('coco', 'test_coco.json')
        image_folder = image_folder or bundled_data_root('coco', '')
    elif image_folder is None:
        image_folder = own_img if osp.realpath(ann_file) == osp.realpath(
            own_ann) else osp.dirname(osp.abspath(ann_file))
    return image_folder, ann_file


def real_crops(cfg, image_folder: str, ann_file: str,
               max_crops: int = 8) -> np.ndarray:
    """Float32 crops (N, 3, h, w), BGR 0-255, of the people annotated in a
    COCO-format ``ann_file``, made by the config's test pipeline (at most
    ``max_crops`` >= 1). The file is read with the config's keypoint
    metainfo (:func:`config_metainfo`), so a data set of your own with K
    keypoints is checked against K."""
    from mmpose.registry import DATASETS
    max_crops = check_max_crops(max_crops)
    codec = cfg.test_dataloader.dataset.get('codec')
    metainfo = config_metainfo(cfg)
    dataset = DATASETS.build(dict(
        type='CheckedCocoDataset', data_root='', ann_file=ann_file,
        data_mode='topdown', data_prefix=dict(img=image_folder),
        test_mode=True, pipeline=cfg.test_dataloader.dataset.pipeline,
        **(dict(codec=codec) if codec else {}),
        **(dict(metainfo=metainfo) if metainfo is not None else {})))
    if len(dataset) == 0:
        raise ValueError(f'{ann_file} has no person to crop')
    return np.stack([dataset[i]['inputs'].float().numpy()
                     for i in range(min(max_crops, len(dataset)))])


def run_onnx(onnx_file: str,
             crops: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Keypoints (N, K, 2) and scores (N, K) of float32 crops
    (N, 3, h, w) by onnxruntime on the CPU."""
    import onnxruntime as ort
    session = ort.InferenceSession(onnx_file,
                                   providers=['CPUExecutionProvider'])
    keypoints, scores = session.run(['keypoints', 'scores'],
                                    {'crops': crops})
    return keypoints, scores


def compare_with_onnxruntime(wrapper: DecodedPoseModel, onnx_file: str,
                             crops: np.ndarray) -> Dict[str, float]:
    """``max_abs_keypoints`` (crop px) and ``max_abs_scores`` between
    onnxruntime and the exported PyTorch wrapper on crops (N, 3, h, w)."""
    keypoints, scores = run_onnx(onnx_file, crops)
    with torch.no_grad():
        ref_keypoints, ref_scores = wrapper(torch.from_numpy(crops))[:2]
    return dict(
        max_abs_keypoints=float(np.abs(keypoints - ref_keypoints.numpy())
                                .max()),
        max_abs_scores=float(np.abs(scores - ref_scores.numpy()).max()))


def load_pose_model(config: str, checkpoint: Optional[str],
                    device: str = 'cpu') -> nn.Module:
    """mmpose's ``init_model`` of a config, then the checked load of a
    checkpoint (``None``: initial weights)."""
    from mmpose.apis import init_model
    model = init_model(config, None, device=device)
    load_checked_checkpoint(model, checkpoint)
    return model


def export_and_check(config: str, checkpoint: Optional[str], out_file: str,
                     image_folder: Optional[str] = None,
                     ann_file: Optional[str] = None, max_crops: int = 8,
                     flip_test: Optional[bool] = False,
                     precision: str = 'fp32',
                     log=None) -> Dict[str, float]:
    """Build a model, export it and compare onnxruntime with PyTorch on
    real crops (:func:`real_crops`).

    Args:
        config (str): Model config.
        checkpoint (str, optional): Checkpoint; ``None`` keeps the initial
            weights.
        out_file (str): The ``.onnx`` file.
        image_folder (str, optional): Folder of the images;
            ``None``: :func:`default_data`. Defaults to ``None``.
        ann_file (str, optional): COCO-format annotation file with the
            config's keypoints; ``None``: :func:`default_data`. Defaults to
            ``None``.
        max_crops (int): Crops compared (>= 1). Defaults to 8.
        flip_test (bool, optional): Flip test in the graph; ``None``
            follows the config. Defaults to ``False``.
        precision (str): One of ``PRECISIONS``. Defaults to ``'fp32'``.
        log (callable, optional): Takes one progress line per step
            (e.g. ``print``). Defaults to ``None`` (silent).

    Returns:
        dict: :func:`compare_with_onnxruntime`'s differences,
        ``num_crops``, ``images`` and ``ann_file``.
    """
    log = log or (lambda line: None)
    check_max_crops(max_crops)
    log(f'building {config} ({checkpoint or "initial weights"})')
    model = load_pose_model(config, checkpoint)
    image_folder, ann_file = default_data(model.cfg, image_folder, ann_file)
    log(f'cropping the people of {ann_file} (images in {image_folder})')
    crops = real_crops(model.cfg, image_folder, ann_file, max_crops)
    log(f'exporting {out_file} ({precision})')
    wrapper = export_onnx(model, out_file, flip_test=flip_test,
                          precision=precision,
                          calibration=calibration_crops(model.cfg)
                          if precision == 'int8' else None)
    log(f'running onnxruntime and PyTorch on {len(crops)} crops')
    result = compare_with_onnxruntime(wrapper, out_file, crops)
    result.update(num_crops=len(crops), images=image_folder,
                  ann_file=ann_file)
    return result


#: float32 and the float16 exports compared by :func:`half_precision_parity`
HALF_PRECISIONS = ('fp32', 'fp16', 'fp16-naive')


def half_precision_parity(model: nn.Module, crops: np.ndarray, folder: str,
                          tolerance: float = 0.25,
                          flip_test: Optional[bool] = None) -> Dict:
    """How often float16 inference lands within ``tolerance`` input pixels
    of float32: for the fp16 export (network in float16, decoding in
    float32) and for a naive all-float16 graph.

    Each graph runs in onnxruntime on the CPU; where onnxruntime has no CPU
    kernel for a float16 operator, the same wrapper runs in PyTorch (CPU
    float16) and ``backend`` says so.

    Args:
        model (nn.Module): The pose model (CPU, float32).
        crops (np.ndarray): Float32 crops (N, 3, h, w), BGR 0-255.
        folder (str): Where the ``.onnx`` files go.
        tolerance (float): Input pixels. Defaults to 0.25.
        flip_test (bool, optional): ``None`` follows the config.

    Returns:
        dict: Per precision ``fp16`` / ``fp16-naive`` the fraction of the
        ``num_keypoints`` (N x K) within tolerance, ``max_px_<precision>``,
        ``max_score_diff_<precision>``; ``backend`` per precision.
    """
    keypoints, scores, backend = {}, {}, {}
    for precision in HALF_PRECISIONS:
        out_file = osp.join(folder, f'{precision}.onnx')
        wrapper = export_onnx(model, out_file, flip_test=flip_test,
                              precision=precision, distributions=False)
        try:
            keypoints[precision], scores[precision] = run_onnx(
                out_file, crops)
            backend[precision] = 'onnxruntime CPU'
        except Exception as err:  # no float16 CPU kernel for an operator
            if 'NOT_IMPLEMENTED' not in str(err) and \
                    'Could not find an implementation' not in str(err):
                raise
            with torch.no_grad():
                out = wrapper(torch.from_numpy(crops))
            keypoints[precision], scores[precision] = (out[0].numpy(),
                                                       out[1].numpy())
            backend[precision] = 'PyTorch CPU (onnxruntime CPU has no ' \
                'float16 kernel for an operator of this graph)'
    ref = keypoints['fp32']
    result: Dict = dict(num_keypoints=int(ref.shape[0] * ref.shape[1]),
                        backend=backend, tolerance=tolerance)
    for precision in HALF_PRECISIONS[1:]:
        dist = np.linalg.norm(keypoints[precision] - ref, axis=-1)
        result[precision] = float(np.mean(dist <= tolerance))
        result[f'max_px_{precision}'] = float(dist.max())
        result[f'max_score_diff_{precision}'] = float(
            np.abs(scores[precision] - scores['fp32']).max())
    return result


def calibration_crops(cfg) -> np.ndarray:
    """The int8 calibration crops: the bundled COCO, CrowdPose and MPII
    people (:func:`simdr_ext.deploy.quantize.bundled_crops`), cut for the
    config's crop geometry."""
    from simdr_ext.deploy import crop_geometry
    from simdr_ext.deploy.quantize import CALIBRATION_SETS, bundled_crops
    geometry = crop_geometry(cfg)
    return bundled_crops(CALIBRATION_SETS, geometry.input_size,
                         geometry.padding, geometry.use_udp)


def precision_parity(model: nn.Module, folder: str,
                     precisions: Sequence[str] = ('fp16', 'int8'),
                     sets: Sequence[str] = PARITY_SETS,
                     flip_test: Optional[bool] = False) -> Dict:
    """Parity of reduced-precision exports with the float32 export, all
    run by onnxruntime on the CPU, on the bundled people.

    Args:
        model (nn.Module): The pose model (CPU, float32).
        folder (str): Where the ``.onnx`` files go.
        precisions (Sequence[str]): Compared with ``'fp32'``.
        sets (Sequence[str]): Names of
            :data:`simdr_ext.deploy.quantize.BUNDLED_PEOPLE`; the first is
            the one the goal is set on.
        flip_test (bool, optional): ``None`` follows the config.

    Returns:
        dict: ``{set: {precision: dict(num_keypoints, within_0.25,
        within_0.5, max_px, max_score_diff)}}``.
    """
    from simdr_ext.deploy import crop_geometry
    from simdr_ext.deploy.quantize import bundled_crops
    geometry = crop_geometry(model.cfg)
    crops = {name: bundled_crops((name, ), geometry.input_size,
                                 geometry.padding, geometry.use_udp)
             for name in sets}
    outputs = {}
    for precision in ('fp32', ) + tuple(precisions):
        out_file = osp.join(folder, f'{precision}.onnx')
        export_onnx(model, out_file, flip_test=flip_test,
                    precision=precision, distributions=False,
                    calibration=calibration_crops(model.cfg)
                    if precision == 'int8' else None)
        outputs[precision] = {n: run_onnx(out_file, c)
                              for n, c in crops.items()}
    result: Dict = {}
    for name in sets:
        ref_kpts, ref_scores = outputs['fp32'][name]
        result[name] = {}
        for precision in precisions:
            kpts, scores = outputs[precision][name]
            dist = np.linalg.norm(kpts - ref_kpts, axis=-1)
            result[name][precision] = {
                'num_keypoints': int(dist.size),
                'within_0.25': float(np.mean(dist <= 0.25)),
                'within_0.5': float(np.mean(dist <= 0.5)),
                'max_px': float(dist.max()),
                'max_score_diff': float(np.abs(scores - ref_scores).max())}
    return result


def format_parity(result: Dict) -> str:
    """:func:`precision_parity`'s result as lines of text."""
    lines = []
    for name, per in result.items():
        for precision, r in per.items():
            lines.append(
                f'{precision} vs fp32 ONNX on {name} '
                f'({r["num_keypoints"]} keypoints): '
                f'{100 * r["within_0.25"]:.1f}% within 0.25 px, '
                f'{100 * r["within_0.5"]:.1f}% within 0.5 px, max '
                f'{r["max_px"]:.2f} px; max score difference '
                f'{r["max_score_diff"]:.3g}')
    return '\n'.join(lines)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'{text!r} is not an integer')
    if value < 1:
        raise argparse.ArgumentTypeError(
            f'{value} crops: at least 1 crop is needed for the check')
    return value


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog='export_onnx.py', description=__doc__,
        formatter_class=HelpFormatter)
    parser.add_argument('config', help='model config file')
    parser.add_argument(
        'checkpoint', help='checkpoint file, or "none" for the initial '
        'weights')
    parser.add_argument('--out', required=True, help='the .onnx file')
    parser.add_argument(
        '--images', default=None,
        help='folder of the images of --ann-file (default: the config\'s '
        'test images, else the folder of --ann-file, else the bundled '
        'COCO images)')
    parser.add_argument(
        '--ann-file', default=None,
        help='COCO-format annotation file with the config\'s keypoints, '
        'whose people are cropped for the check (default: the config\'s '
        'test annotation file where it exists, else the bundled COCO '
        'people)')
    parser.add_argument('--max-crops', type=positive_int, default=8,
                        help='real crops compared with PyTorch (>= 1)')
    parser.add_argument('--flip-test', choices=['off', 'on', 'config'],
                        default='off',
                        help='flip test inside the graph (config: as '
                        'model.test_cfg.flip_test)')
    parser.add_argument('--precision', choices=PRECISIONS, default='fp32',
                        help='fp16: the network in float16, the decoding '
                        'in float32; int8: static int8 quantization '
                        '(onnxruntime QDQ), the head\'s last layers and '
                        'the decoding in float32')
    parser.add_argument('--atol', type=float, default=1e-3,
                        help='largest keypoint difference (crop px) '
                        'accepted (fp32, fp16); above it, exit status 1')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    ckpt = None if args.checkpoint.lower() == 'none' else args.checkpoint
    flip = dict(off=False, on=True, config=None)[args.flip_test]
    result = export_and_check(args.config, ckpt, args.out, args.images,
                              args.ann_file, args.max_crops, flip,
                              args.precision,
                              log=lambda line: print(line, flush=True))
    print(f'exported {args.out}; onnxruntime vs PyTorch on '
          f'{result["num_crops"]} real crops: max |keypoints| difference '
          f'{result["max_abs_keypoints"]:.3g} px, max |scores| difference '
          f'{result["max_abs_scores"]:.3g}'
          + (' (against PyTorch float32)' if args.precision == 'int8'
             else ''))
    if args.precision in ('fp16', 'int8'):
        import tempfile
        model = load_pose_model(args.config, ckpt)
        with tempfile.TemporaryDirectory() as folder:
            parity = precision_parity(model, folder, (args.precision, ),
                                      flip_test=flip)
        print(format_parity(parity))
    if args.precision == 'int8':
        return 0
    return 0 if result['max_abs_keypoints'] <= args.atol else 1


if __name__ == '__main__':
    sys.exit(main())
