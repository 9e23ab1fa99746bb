# Copyright (c) simdr_ext contributors. All rights reserved.
from .base_simdr_codec import BaseSimDRCodec
from .dark_heatmap import DarkHeatmap
from .sa_simdr_label import SASimDRLabel
from .simdr_label import SimDRLabel

__all__ = ['BaseSimDRCodec', 'DarkHeatmap', 'SASimDRLabel', 'SimDRLabel']
