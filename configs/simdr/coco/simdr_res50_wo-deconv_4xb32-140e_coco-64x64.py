# SimBa-Res50 without deconvolutions, SimDR, COCO 64x64: SimDR paper
# Table 4. A 1x1 conv maps the stride-32 map to K * 32 channels and each
# keypoint's 32 maps are flattened together (leeyegy/SimCC
# lib/models/pose_resnet_upfree.py, CHANNEL_PER_JOINT 32 in
# experiments/coco/resnet/simdr/upsample_free/*_64x64_*cpj32.yaml).

_base_ = ['./simdr_res50_wo-deconv_4xb32-140e_coco-256x192.py']
from simdr_ext.datasets import codec_loader  # noqa: E402

# codec: changes to the parent config's (sources: configs/recipes.yml)
codec = dict(input_size=(64, 64), split_ratio=3.0)
model = dict(head=dict(channels_per_joint=32, decoder=codec))
train_dataloader = dict(dataset=dict(codec=codec))
val_dataloader = test_dataloader = codec_loader(codec, _base_.test_pipeline)

# rescoring: mean of the keypoint scores above 0.02
val_evaluator = test_evaluator = dict(keypoint_score_thr=0.02)
