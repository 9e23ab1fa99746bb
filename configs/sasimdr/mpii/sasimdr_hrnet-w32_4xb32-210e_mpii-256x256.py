# HRNet-W32, SimDR* (space-aware SimDR), MPII 256x256: SimDR paper
# Appendix C, Table 8 (augmentation as on COCO, as the paper says).

_base_ = ['../../simdr/mpii/simdr_hrnet-w32_4xb32-210e_mpii-256x256.py']

# codec: the values and their sources are in configs/recipes.yml
codec = dict(
    _delete_=True,
    type='SASimDRLabel',
    input_size=(256, 256),
    split_ratio=2.0,
    sigma=6.0,
    normalize=True)
model = dict(
    head=dict(
        loss=dict(type='SimDRKLLoss', use_target_weight=True),
        decoder=codec))
train_dataloader = val_dataloader = test_dataloader = dict(
    dataset=dict(codec=codec))
