# SimBa-Res50 with 3 deconvolutions, SimDR head, COCO 256x192: the
# architecture and training of mmpose's released SimCC model
# (simcc_res50_8xb64-210e_coco-256x192), whose weights load unchanged;
# the network is the one of SimDR paper Table 2 (SimBa-Res50 SimDR 256x192).

_base_ = [
    '../../_base_/augmentation/mmpose.py',
    '../../_base_/schedules/simcc_210e.py', '../../_base_/models/resnet50.py'
]
from simdr_ext.datasets import codec_loader  # noqa: E402

# weights released by mmpose for this architecture (converted:
# loaded as published, see model_zoo.md)
load_from = ('https://download.openmmlab.com/mmpose/v1/body_2d_keypoint/si'
             'mcc/coco/simcc_res50_8xb64-210e_coco-256x192-8e0f5b59_202209'
             '19.pth')

# Gaussian labels (sigma 6 bins, centre rounded) with a KL loss, as
# mmpose's SimCCLabel/KLDiscretLoss, so that training with this config
# repeats the released model. Decoding as mmpose 1.3.2's SimCCLabel
# (mmpose/codecs/utils/post_processing.py get_simcc_maximum l.90-99): the
# argmax, and the smaller raw x / y maximum as the score, a keypoint whose
# score is <= 0 at -1 / k input pixels
codec = dict(
    type='SASimDRLabel',
    input_size=(192, 256),
    split_ratio=2.0,
    sigma=6.0,
    normalize=True,
    round_center=True,
    keypoint_score='min',
    score_scale='logit')

# head initialisation of mmpose's SimCCHead (default_init_cfg of
# mmpose/models/heads/coord_cls_heads/simcc_head.py l.364-371)
simcc_head_init = [
    dict(type='Normal', layer=['Conv2d', 'ConvTranspose2d'], std=0.001),
    dict(type='Constant', layer='BatchNorm2d', val=1),
    dict(type='Normal', layer=['Linear'], std=0.01, bias=0),
]

# mmpose's flip test (mmpose/models/heads/coord_cls_heads/simcc_head.py
# predict l.268-274): the mean of the logits, flipped x vectors only
# reversed (mmpose/models/utils/tta.py flip_vectors l.85); RGB
# input as mmpose's data_preprocessor (bgr_to_rgb=True)
model = dict(
    data_preprocessor=dict(bgr_to_rgb=True),
    head=dict(_base_.simdr_head, out_channels=17, decoder=codec,
              loss=dict(type='SimDRKLLoss', use_target_weight=True),
              init_cfg=simcc_head_init),
    test_cfg=dict(flip_test=True, flip_fusion='logits', flip_shift='none'))

# 8 GPUs x 64 images
auto_scale_lr = dict(base_batch_size=512)

train_dataloader = dict(batch_size=64, dataset=dict(codec=codec))
val_dataloader = test_dataloader = codec_loader(codec, _base_.test_pipeline)
# mmpose's CocoMetric default (mmpose/evaluation/metrics/coco_metric.py
# l.101), on raw-logit scores as mmpose evaluates them
val_evaluator = test_evaluator = dict(keypoint_score_thr=0.2)
