# Copyright (c) simdr_ext contributors. All rights reserved.
"""How close reduced-precision inference comes to float32 of the same path.

Paths, each against float32 of the same path on the same crops:

- bf16-torch: simdr_ext.apis.BatchedTopdownInferencer with
  precision='bf16' (torch autocast around backbone and head, decoding in
  float32). Measured on any CPU: where the API refuses bf16 for speed
  (no native bfloat16), the numerics are the same, so the tool runs it
  emulated and says so;
- fp16-onnx / int8-onnx: the ONNX exports of
  tools/deploy/export_onnx.py (export_and_check) in onnxruntime on
  the CPU, against the fp32 export (int8 where the export offers it).

Per path: the share of keypoints within 0.25 and 0.5 input (crop) pixels
of float32 and the largest keypoint and score differences on the people
of the bundled COCO, CrowdPose and MPII images (ground-truth boxes), and
the COCO keypoint AP of the bundled COCO people (mmpose's CocoMetric on
tests/data/coco/test_coco.json) with both precisions. The goals
(>= 99% within 0.5 px on COCO, |dAP| <= 0.01) print as met / NOT met;
CrowdPose and MPII are reported, not gated. A peaked (trained) model is
needed: random weights give flat outputs whose argmax any rounding moves.

Example::

    python tools/analysis/precision_parity.py \\
        [--config CONFIG] [--checkpoint CKPT] [--paths bf16-torch fp16-onnx]
        [--json parity.json]
"""
import json
import os.path as osp
import sys
import tempfile
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

TOOLS = osp.dirname(osp.dirname(osp.abspath(__file__)))
ROOT = osp.dirname(TOOLS)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import simdr_ext  # noqa: E402,F401
from simdr_ext.apis import BatchedTopdownInferencer  # noqa: E402
from simdr_ext.apis.batched_inferencer import cpu_has_native_bf16  # noqa
from simdr_ext.datasets import bundled_data_root  # noqa: E402
from simdr_ext.utils.cli import tool_parser  # noqa: E402
from simdr_runtime.engine import run_topdown  # noqa: E402

QUICKSTART_CONFIG = osp.join(ROOT, 'configs', 'quickstart',
                             'simdr_res18_1xb12-300e_coco-mini-128x96.py')
QUICKSTART_CHECKPOINT = osp.join(ROOT, 'work_dirs', 'quickstart',
                                 'epoch_300.pth')
PATHS = ('bf16-torch', 'fp16-onnx', 'int8-onnx')
#: (share within 0.5 px, largest |AP difference|)
GOALS = dict(within_0_5=0.99, max_abs_dap=0.01)
DATASETS = ('coco', 'crowdpose', 'mpii')

InferFn = Callable[[np.ndarray], Dict[str, np.ndarray]]


def bundled_people(name: str) -> Tuple[List[str], List[np.ndarray], list]:
    """Images, xyxy boxes (float32 (M, 4) per image) and COCO annotations
    (``None`` but for COCO) of the people of a bundled data set: COCO and
    CrowdPose from their annotation boxes (COCO: those with keypoints),
    MPII from ``center`` +- 100 x ``scale`` (its person box)."""
    folder = bundled_data_root(name, '')
    if name == 'mpii':
        with open(osp.join(folder, 'test_mpii.json')) as f:
            anns = json.load(f)
        boxes: Dict[str, list] = {}
        for ann in anns:
            c, s = np.array(ann['center']), 100.0 * ann['scale']
            boxes.setdefault(osp.join(folder, ann['image']), []).append(
                [c[0] - s, c[1] - s, c[0] + s, c[1] + s])
        images = sorted(boxes)
        return images, [np.array(boxes[i], np.float32)
                        for i in images], None
    ann_file = osp.join(folder, f'test_{name}.json')
    with open(ann_file) as f:
        data = json.load(f)
    files = {img['id']: img['file_name'] for img in data['images']}
    per_image: Dict[int, list] = {}
    for ann in data['annotations']:
        if ann.get('iscrowd', 0) or ann.get('num_keypoints', 1) == 0:
            continue
        per_image.setdefault(ann['image_id'], []).append(ann)
    ids = sorted(per_image)
    images = [osp.join(folder, files[i]) for i in ids]
    boxes = []
    for i in ids:
        xywh = np.array([a['bbox'] for a in per_image[i]], np.float32)
        boxes.append(np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]],
                                    1))
    return images, boxes, ([per_image[i] for i in ids]
                           if name == 'coco' else None)


def coco_ap(model, annotations: list, results: List[Dict]) -> float:
    """COCO keypoint AP of image-pixel keypoints of the bundled COCO
    people by mmpose's ``CocoMetric`` on ``test_coco.json``."""
    from mmpose.evaluation import CocoMetric
    metric = CocoMetric(
        ann_file=bundled_data_root('coco', 'test_coco.json'),
        outfile_prefix=None)
    metric.dataset_meta = model.dataset_meta
    samples = []
    for anns, res in zip(annotations, results):
        for j, ann in enumerate(anns):
            samples.append(dict(
                id=ann['id'], img_id=ann['image_id'], category_id=1,
                pred_instances=dict(
                    keypoints=res['keypoints'][j:j + 1],
                    keypoint_scores=res['keypoint_scores'][j:j + 1]),
                gt_instances=dict(bbox_scales=np.array(
                    [ann['bbox'][2:]], np.float32))))
    metric.process([], samples)
    return float(metric.compute_metrics(metric.results)['AP'])


def torch_infer(model, precision: str) -> InferFn:
    """Crops → keypoints (crop px) by the batched API; bf16 also where the
    CPU has no native bfloat16."""
    infer = BatchedTopdownInferencer(
        model, batch_size=8, precision=precision,
        allow_emulated_bf16=True)
    return lambda crops: infer.infer_crops(crops)


def onnx_infer(onnx_file: str) -> InferFn:
    """Crops → keypoints (crop px) by onnxruntime on the CPU."""
    import onnxruntime as ort
    session = ort.InferenceSession(onnx_file,
                                   providers=['CPUExecutionProvider'])
    dtype = np.float16 if 'float16' in session.get_inputs()[0].type \
        else np.float32

    def infer(crops: np.ndarray) -> Dict[str, np.ndarray]:
        x = np.ascontiguousarray(crops.transpose(0, 3, 1, 2)).astype(dtype)
        kpts, scores = session.run(['keypoints', 'scores'], {'crops': x})
        return dict(keypoints=kpts.astype(np.float32),
                    keypoint_scores=scores.astype(np.float32))

    return infer


def run_dataset(model, infer: InferFn, images, boxes) -> List[Dict]:
    """Per image ``keypoints`` (image px), ``keypoint_scores`` and
    ``crop_keypoints`` (input px) of the given boxes."""

    def both(crops):
        out = infer(crops)
        return dict(out, crop_keypoints=out['keypoints'])

    api = BatchedTopdownInferencer(model, batch_size=8, channels_last=False)
    return run_topdown(images, boxes, api.geometry, 8, both,
                       api.num_keypoints)


def compare(ref: List[Dict], test: List[Dict]) -> Dict[str, float]:
    """Share of keypoints within 0.25 / 0.5 input px (Euclidean, <=),
    largest keypoint distance (input px) and score difference."""
    a = np.concatenate([r['crop_keypoints'] for r in ref if len(r['bboxes'])])
    b = np.concatenate(
        [r['crop_keypoints'] for r in test if len(r['bboxes'])])
    sa = np.concatenate([r['keypoint_scores'] for r in ref])
    sb = np.concatenate([r['keypoint_scores'] for r in test])
    dist = np.linalg.norm(a - b, axis=-1)
    return dict(
        keypoints=int(dist.size),
        within_0_25=float(np.mean(dist <= 0.25)),
        within_0_5=float(np.mean(dist <= 0.5)),
        max_px=float(dist.max()),
        max_score_diff=float(np.abs(sa - sb).max()))


def path_inferers(path: str, config: str, checkpoint: Optional[str],
                  model, folder: str, flip_test: bool
                  ) -> Tuple[InferFn, InferFn, str]:
    """(float32, reduced) inferers of a path and a note on how it ran."""
    if path == 'bf16-torch':
        note = 'torch CPU autocast bfloat16'
        if next(model.parameters()).device.type == 'cpu' \
                and not cpu_has_native_bf16():
            note += (' (emulated: this CPU has no native bfloat16, '
                     f'capability {torch.backends.cpu.get_cpu_capability()}'
                     '; the API refuses it for speed)')
        return torch_infer(model, 'fp32'), torch_infer(model, 'bf16'), note
    from simdr_ext.deploy import PRECISIONS
    from tools.deploy.export_onnx import export_and_check
    precision = path.split('-')[0]
    if precision not in PRECISIONS:
        raise NotImplementedError(f'the ONNX export offers {PRECISIONS}, '
                                  f'not {precision}')
    files = {}
    for p in ('fp32', precision):
        files[p] = osp.join(folder, f'{p}.onnx')
        if not osp.isfile(files[p]):
            export_and_check(config, checkpoint, files[p],
                             flip_test=flip_test, precision=p)
    return (onnx_infer(files['fp32']), onnx_infer(files[precision]),
            'onnxruntime CPU')


def measure(config: str, checkpoint: Optional[str],
            paths: Sequence[str] = PATHS,
            log: Callable[[str], None] = print) -> Dict:
    """Run every path on the bundled people.

    Returns:
        dict: ``cpu`` (capability, native bf16), ``goals`` and per path
        ``note``, per data set :func:`compare`'s numbers, and for COCO
        ``ap_fp32``, ``ap`` and ``dap``; ``error`` for a path that could
        not run.
    """
    from tools.deploy.export_onnx import load_pose_model
    model = load_pose_model(config, checkpoint)
    flip_test = bool((model.test_cfg or {}).get('flip_test', False))
    data = {name: bundled_people(name) for name in DATASETS}
    report: Dict = dict(
        config=config, checkpoint=checkpoint, goals=GOALS,
        cpu=dict(capability=torch.backends.cpu.get_cpu_capability(),
                 mkldnn_bf16=bool(
                     torch.ops.mkldnn._is_mkldnn_bf16_supported()),
                 native_bf16=cpu_has_native_bf16()),
        paths={})
    with tempfile.TemporaryDirectory() as folder:
        for path in paths:
            log(f'{path}: running float32 and {path} on the bundled people')
            try:
                ref_fn, test_fn, note = path_inferers(
                    path, config, checkpoint, model, folder, flip_test)
            except Exception as err:  # reported, not hidden
                report['paths'][path] = dict(error=f'{type(err).__name__}: '
                                             f'{err}')
                continue
            entry: Dict = dict(note=note)
            for name, (images, boxes, anns) in data.items():
                ref = run_dataset(model, ref_fn, images, boxes)
                test = run_dataset(model, test_fn, images, boxes)
                entry[name] = compare(ref, test)
                if anns is not None:
                    ap32, ap = coco_ap(model, anns, ref), coco_ap(
                        model, anns, test)
                    entry[name].update(ap_fp32=ap32, ap=ap, dap=ap - ap32)
            coco = entry['coco']
            entry['goals_met'] = dict(
                within_0_5=coco['within_0_5'] >= GOALS['within_0_5'],
                dap=abs(coco['dap']) <= GOALS['max_abs_dap'])
            report['paths'][path] = entry
    return report


def table(report: Dict) -> str:
    """The report as text: one row per path and data set, then the goals
    per path."""
    cpu = report['cpu']
    lines = [
        f'CPU capability {cpu["capability"]}, oneDNN bf16 '
        f'{cpu["mkldnn_bf16"]}, native bf16 {cpu["native_bf16"]}',
        f'{"path":<11} {"data":<9} {"kpts":>5} {"<=0.25px":>8} '
        f'{"<=0.5px":>8} {"max px":>7} {"max dscore":>10} {"AP fp32":>7} '
        f'{"AP":>6} {"dAP":>7}'
    ]
    goals = []
    for path, entry in report['paths'].items():
        if 'error' in entry:
            lines.append(f'{path:<11} not run: {entry["error"]}')
            goals.append(f'{path}: goals not measured ({entry["error"]})')
            continue
        for name in DATASETS:
            r = entry[name]
            ap = (f'{r["ap_fp32"]:>7.3f} {r["ap"]:>6.3f} {r["dap"]:>+7.3f}'
                  if 'ap' in r else f'{"-":>7} {"-":>6} {"-":>7}')
            lines.append(
                f'{path:<11} {name:<9} {r["keypoints"]:>5} '
                f'{100 * r["within_0_25"]:>7.2f}% '
                f'{100 * r["within_0_5"]:>7.2f}% {r["max_px"]:>7.3f} '
                f'{r["max_score_diff"]:>10.4f} {ap}')
        met = entry['goals_met']
        coco = entry['coco']
        goals.append(
            f'{path} ({entry["note"]}): >= 99% within 0.5 px on COCO: '
            f'{"met" if met["within_0_5"] else "NOT met"} '
            f'({100 * coco["within_0_5"]:.2f}%); |dAP| <= 0.01: '
            f'{"met" if met["dap"] else "NOT met"} ({coco["dap"]:+.4f})')
    return '\n'.join(lines + [''] + goals)


def build_parser():
    parser = tool_parser(__doc__)
    parser.add_argument('--config', default=QUICKSTART_CONFIG,
                        help='pose config')
    parser.add_argument(
        '--checkpoint', default=QUICKSTART_CHECKPOINT,
        help='trained weights (the default is made by tools/quickstart.py)')
    parser.add_argument('--paths', nargs='+', choices=PATHS,
                        default=list(PATHS), help='paths to measure')
    parser.add_argument('--json', default=None, help='write the numbers')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch intra-op threads')
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    if not osp.isfile(args.checkpoint):
        raise SystemExit(f'{args.checkpoint}: no such checkpoint (train one '
                         'with tools/quickstart.py, or give --checkpoint)')
    if args.threads:
        torch.set_num_threads(args.threads)
    report = measure(args.config, args.checkpoint, args.paths,
                     log=lambda line: print(line, flush=True))
    print(table(report))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(report, f, indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
