# SimBa-Res50 without deconvolutions, SimDR, COCO 128x128: SimDR paper
# Table 4. A 1x1 conv maps the stride-32 map to K * 32 channels and each
# keypoint's 32 maps are flattened together (leeyegy/SimCC
# lib/models/pose_resnet_upfree.py, CHANNEL_PER_JOINT 32 in
# experiments/coco/resnet/simdr/upsample_free/*_128x128_*cpj32.yaml).

_base_ = ['./simdr_res50_wo-deconv_4xb32-140e_coco-64x64.py']
from simdr_ext.datasets import codec_loader  # noqa: E402

# codec: changes to the parent config's (sources: configs/recipes.yml)
codec = dict(input_size=(128, 128))
model = dict(head=dict(decoder=codec))
train_dataloader = dict(dataset=dict(codec=codec))
val_dataloader = test_dataloader = codec_loader(codec, _base_.test_pipeline)
