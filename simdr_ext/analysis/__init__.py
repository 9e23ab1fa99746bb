# Copyright (c) simdr_ext contributors. All rights reserved.
"""Analyses of the codecs: speed against mmpose and the oracle on COCO.

Not imported by ``import simdr_ext`` (it needs xtcocotools and is no part of
training); import ``simdr_ext.analysis`` explicitly.
"""
from .codec_benchmark import (CodecPair, benchmark_pair, check_goals,
                              codec_pairs, paper_split_ratio, parse_size,
                              run_benchmark)

__all__ = [
    'CodecPair', 'benchmark_pair', 'check_goals', 'codec_pairs',
    'paper_split_ratio', 'parse_size', 'run_benchmark'
]
