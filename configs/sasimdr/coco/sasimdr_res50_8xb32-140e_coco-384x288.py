# SimBa-Res50 with 3 deconvolutions, SimDR head, COCO 384x288: the
# architecture and training of mmpose's released SimCC model
# (simcc_res50_8xb32-140e_coco-384x288), whose weights load unchanged.

_base_ = ['./sasimdr_res50_8xb64-210e_coco-256x192.py']
from simdr_ext.datasets import codec_loader  # noqa: E402

# weights released by mmpose for this architecture (converted:
# loaded as published, see model_zoo.md)
load_from = ('https://download.openmmlab.com/mmpose/v1/body_2d_keypoint/si'
             'mcc/coco/simcc_res50_8xb32-140e_coco-384x288-45c3ba34_202209'
             '13.pth')

# mmpose's 140-epoch SimCC schedule: the warm-up, then adam_140e.py's steps
train_cfg = dict(max_epochs=140)
param_scheduler = [
    _base_.param_scheduler[0],
    dict(type='MultiStepLR', begin=0, end=140, milestones=[90, 120],
         gamma=0.1, by_epoch=True)
]

# codec: changes to the parent config's (sources: configs/recipes.yml)
codec = dict(input_size=(288, 384))
model = dict(head=dict(decoder=codec))
train_dataloader = dict(batch_size=32, dataset=dict(codec=codec))
val_dataloader = test_dataloader = codec_loader(codec, _base_.test_pipeline)

# 8 GPUs x 32 images; the base batch size of mmpose's config
# (simcc_res50_8xb32-140e_coco-384x288.py l.27), which scales the lr
auto_scale_lr = dict(base_batch_size=512)
