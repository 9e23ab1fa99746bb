# HRNet-W32, DARK heatmap, COCO 256x192: the heatmap row of the SimDR paper
# with DARK's unbiased encoding and decoding (Zhang et al., CVPR 2020)
# in place of the +-1/4 px shift; same network as the heatmap config.

_base_ = ['../../heatmap/coco/heatmap_hrnet-w32_4xb32-210e_coco-256x192.py']
from simdr_ext.datasets import bind_codec  # noqa: E402

# DARK: unbiased encoding, Taylor decoding; sigma 2 and blur kernel 11 as
# the DarkPose configs (ilovepose/DarkPose; 11 also at sigma 3, which
# "does not make much difference in AP", open-mmlab/mmpose#664)
codec = dict(
    _delete_=True, type='DarkHeatmap', input_size=(192, 256),
    heatmap_size=(48, 64), sigma=2, unbiased=True, decode_mode='dark',
    blur_kernel_size=11)
# no flip shift: the flipped-back map is averaged as it is
model = dict(head=dict(decoder=codec), test_cfg=dict(shift_heatmap=False))
train_dataloader = dict(dataset=dict(codec=codec))
val_dataloader = test_dataloader = dict(dataset=dict(
    codec=codec, pipeline=bind_codec(_base_.test_pipeline, codec)))
