# Copyright (c) simdr_ext contributors. All rights reserved.
from .codec_head import CodecHead
from .simdr_head import SimDRHead
from .tokenpose_heatmap_head import TokenPoseHeatmapHead

__all__ = ['CodecHead', 'SimDRHead', 'TokenPoseHeatmapHead']
