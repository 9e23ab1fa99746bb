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
# repeats the released model; the decoder takes the argmax, like mmpose's
codec = dict(
    type='SASimDRLabel',
    input_size=(192, 256),
    split_ratio=2.0,
    sigma=6.0,
    normalize=True,
    round_center=True)

model = dict(
    head=dict(_base_.simdr_head, out_channels=17, decoder=codec,
              loss=dict(type='SimDRKLLoss', use_target_weight=True)),
    test_cfg=dict(flip_test=True))

# 8 GPUs x 64 images
auto_scale_lr = dict(base_batch_size=512)

train_dataloader = dict(batch_size=64, dataset=dict(codec=codec))
val_dataloader = test_dataloader = codec_loader(codec, _base_.test_pipeline)
