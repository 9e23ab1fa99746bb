# HRNet-W32, heatmap, CrowdPose 64x64: SimDR paper Appendix B, Table 7
# (batch size 64 in all, as the paper).

_base_ = ['./heatmap_hrnet-w32_4xb16-210e_crowdpose-256x192.py']
from simdr_ext.datasets import bind_codec  # noqa: E402

# codec: changes to the parent config's (sources: configs/recipes.yml)
codec = dict(input_size=(64, 64), heatmap_size=(16, 16), sigma=1)
model = dict(head=dict(decoder=codec))
train_dataloader = dict(dataset=dict(codec=codec))
val_dataloader = test_dataloader = dict(dataset=dict(
    codec=codec, pipeline=bind_codec(_base_.test_pipeline, codec)))
