# A top-down estimator with ImageNet input normalisation (RGB); the
# backbone bases add a backbone, each model config a head and test_cfg.
# ResNet configs of the SimDR authors feed BGR pixels (./resnet50.py).

model = dict(
    type='TopdownPoseEstimator',
    data_preprocessor=dict(
        type='PoseDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True))

# Head initialisations (the head's ``init_cfg``; the recipe's head_init).
# torch_default: the authors' pose nets set their convolutions and
# deconvolutions to normal(0, 0.001) and BatchNorm to 1 / 0 and leave the
# SimDR linear layers at PyTorch's default (kaiming-uniform): leeyegy/SimCC
# lib/models/pose_resnet.py l.227-264, pose_resnet_upfree.py l.174-193,
# pose_hrnet.py l.477-492 (mlp_head_x / mlp_head_y are nn.Linear).
torch_default_init = [
    dict(type='Normal', layer=['Conv2d', 'ConvTranspose2d'], std=0.001),
    dict(type='Constant', layer='BatchNorm2d', val=1),
]
# trunc_normal_0.02: TokenPose's _init_weights, applied to every Linear of
# the model (leeyegy/TokenPose lib/models/tokenpose_base.py l.220-225)
trunc_normal_init = torch_default_init + [
    dict(type='TruncNormal', layer='Linear', std=0.02, bias=0),
]
# SimDR test-time flip of the SimDR authors' validate_simdr
# (leeyegy/SimCC lib/core/function.py l.320-325): mean of the two
# softmaxes, the flipped x vector moved one bin left (TEST.SHIFT_HEATMAP)
simdr_test_cfg = dict(flip_test=True, flip_fusion='softmax',
                      flip_shift='one_bin')
# and of validate_sa_simdr (l.124-128): mean of the logits, the same shift
sasimdr_test_cfg = dict(flip_test=True, flip_fusion='logits',
                        flip_shift='one_bin')
