# Copyright (c) simdr_ext contributors. All rights reserved.
"""The configs that load mmpose's released SimCC weights evaluate as mmpose
1.3.2 does with its own configs.

For each pair, mmpose's model (built from its config under
``mmpose/.mim/configs/body_2d_keypoint/simcc/coco``) and simdr_ext's (from
the matching ``configs/sasimdr/coco`` config) get the same seeded random
weights (mmpose's state dict loaded into ours, strict), with the head's
biases moved so that some logit maxima are positive and some are not
(mmpose moves those keypoints to bin -1: ``get_simcc_maximum`` l.99). Both
run their own test pipeline, flip test on as each config sets it, on the
bundled COCO images with the bundled person detections (the backbone,
asserted identical, runs once per batch for both: on 2 CPU cores the
ResNet-50 passes dominate the run), and both evaluators score the
results.

Tolerance: both models run the same float32 operations on the same input
in the same batches (same modules, the flipped logits averaged as
``(a + b) * 0.5``, argmax and maximum in float32, the bin divided by
``k = 2`` exactly), so keypoints and scores agree to float32 rounding; the
bound below (1e-6 relative, 1e-4 px) only leaves room for a kernel that
orders a reduction differently, far below any change of decoding (half a
bin, 0.25 px in the crop).
"""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.evaluator import Evaluator
from mmengine.registry import init_default_scope

import mmpose
from mmpose.registry import DATASETS, METRICS, MODELS

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
COCO = osp.join(REPO, 'tests', 'data', 'coco')
MMPOSE_CONFIGS = osp.join(
    osp.dirname(mmpose.__file__), '.mim', 'configs', 'body_2d_keypoint',
    'simcc', 'coco')
PAIRS = [
    ('simcc_res50_8xb64-210e_coco-256x192.py',
     'sasimdr_res50_8xb64-210e_coco-256x192.py'),
    ('simcc_res50_8xb32-140e_coco-384x288.py',
     'sasimdr_res50_8xb32-140e_coco-384x288.py'),
    ('simcc_mobilenetv2_wo-deconv-8xb64-210e_coco-256x192.py',
     'sasimdr_mobilenetv2_wo-deconv_8xb64-210e_coco-256x192.py'),
]
BATCH = 40


def build_model(cfg: Config) -> torch.nn.Module:
    """The config's model without pretrained weights, in eval mode."""
    cfg.model.backbone.init_cfg = None
    return MODELS.build(cfg.model).eval()


def bundled_dataset(cfg: Config):
    """The config's test data set on the bundled COCO sample."""
    dataset = cfg.test_dataloader.dataset
    return DATASETS.build(
        dict(
            dataset,
            data_root=COCO,
            ann_file='test_coco.json',
            bbox_file=osp.join(COCO, 'test_coco_det_AP_H_56.json'),
            data_prefix=dict(img='')))


def evaluator_of(cfg: Config, dataset) -> Evaluator:
    """The config's own test evaluator on the bundled annotations."""
    evaluator = Evaluator(
        METRICS.build(
            dict(cfg.test_evaluator,
                 ann_file=osp.join(COCO, 'test_coco.json'))))
    evaluator.dataset_meta = dataset.metainfo
    return evaluator


def run_both(models, datasets, cfgs) -> list:
    """Each model's predictions (keypoints (M, K, 2), scores (M, K)) and
    metrics. Each model's own data preprocessor prepares its own data set's
    batches, which must be equal; the backbone (the same class, config and
    weights in both, asserted by the caller) then runs once per batch and
    its features go to each model's head and ``add_pred_to_datasample``,
    the steps of ``TopdownPoseEstimator.predict`` (mmpose 1.3.2
    ``mmpose/models/pose_estimators/topdown.py``)."""
    evaluators = [evaluator_of(c, d) for c, d in zip(cfgs, datasets)]
    out = [([], []) for _ in models]
    with torch.no_grad():
        for start in range(0, len(datasets[0]), BATCH):
            stop = min(start + BATCH, len(datasets[0]))
            batches = [
                m.data_preprocessor(
                    pseudo_collate([d[i] for i in range(start, stop)]),
                    False) for m, d in zip(models, datasets)
            ]
            inputs = batches[0]['inputs']
            assert torch.equal(inputs, batches[1]['inputs'])
            backbone = models[0]
            feats = [
                backbone.extract_feat(inputs),
                backbone.extract_feat(inputs.flip(-1))
            ]
            for model, batch, evaluator, (kpts, scores) in zip(
                    models, batches, evaluators, out):
                assert model.test_cfg.get('flip_test')
                preds = model.head.predict(
                    feats, batch['data_samples'], test_cfg=model.test_cfg)
                results = model.add_pred_to_datasample(
                    preds, None, batch['data_samples'])
                for res in results:
                    kpts.append(res.pred_instances.keypoints)
                    scores.append(res.pred_instances.keypoint_scores)
                evaluator.process(results)
    return [(np.concatenate(k), np.concatenate(s), e.evaluate(
        len(datasets[0]))) for (k, s), e in zip(out, evaluators)]


def straddle_zero(model, dataset) -> None:
    """Seeded head weights whose logit maxima straddle 0: the biases are
    lowered by the median maximum of the first crops' logits."""
    head = model.head
    torch.manual_seed(0)
    for layer in (head.mlp_head_x, head.mlp_head_y):
        torch.nn.init.normal_(layer.weight, std=0.02)
        torch.nn.init.zeros_(layer.bias)
    data = model.data_preprocessor(
        pseudo_collate([dataset[i] for i in range(8)]), False)
    with torch.no_grad():
        pred_x, pred_y = head(model.extract_feat(data['inputs']))
        for layer, pred in ((head.mlp_head_x, pred_x),
                            (head.mlp_head_y, pred_y)):
            layer.bias -= pred.amax(-1).median()


@pytest.mark.slow
@pytest.mark.parametrize('theirs,ours', PAIRS, ids=[p[1] for p in PAIRS])
def test_released_weight_configs_evaluate_as_mmpose(theirs, ours):
    init_default_scope('mmpose')
    import simdr_ext  # noqa: F401  (registers the simdr_ext modules)
    mm_cfg = Config.fromfile(osp.join(MMPOSE_CONFIGS, theirs))
    our_cfg = Config.fromfile(
        osp.join(REPO, 'configs', 'sasimdr', 'coco', ours))
    torch.manual_seed(0)
    mm_model = build_model(mm_cfg)
    our_model = build_model(our_cfg)
    mm_data = bundled_dataset(mm_cfg)
    our_data = bundled_dataset(our_cfg)
    assert len(mm_data) == len(our_data) == 118
    straddle_zero(mm_model, mm_data)
    our_model.load_state_dict(mm_model.state_dict(), strict=True)
    for model in (mm_model, our_model):
        model.dataset_meta = mm_data.metainfo

    # one backbone for both: same class, same config, same weights
    assert type(our_model) is type(mm_model)
    assert our_cfg.model.backbone == mm_cfg.model.backbone
    assert our_cfg.model.get('neck') == mm_cfg.model.get('neck') is None
    (mm_kpts, mm_scores, mm_metrics), (kpts, scores, metrics) = run_both(
        (mm_model, our_model), (mm_data, our_data), (mm_cfg, our_cfg))

    # raw-logit scores of both signs, and keypoints mmpose moved to bin -1
    assert (mm_scores > 0).any() and (mm_scores <= 0).any()
    np.testing.assert_allclose(scores, mm_scores, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(kpts, mm_kpts, rtol=1e-6, atol=1e-4)
    assert metrics == pytest.approx(mm_metrics, rel=1e-9, abs=1e-12)
    print(f'{ours}: {mm_scores.size} keypoints, '
          f'{int((mm_scores <= 0).sum())} with a score <= 0; '
          f'COCO AP {metrics["coco/AP"]:.4f}, AR {metrics["coco/AR"]:.4f}')
