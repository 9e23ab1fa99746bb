# Copyright (c) simdr_ext contributors. All rights reserved.
"""Rename the TokenPose authors' checkpoints to simdr_ext's keys.

Reference: leeyegy/TokenPose at commit ``ac939fa``
(https://github.com/leeyegy/TokenPose/tree/ac939fa/lib/models):
``pose_tokenpose_s.py`` wraps ``TokenPose_S_base`` (stem-net inside) as
``features``; ``pose_tokenpose_t.py``, ``_b.py`` and ``_l.py`` hold
``TokenPose_TB_base`` / ``TokenPose_L_base`` as ``transformer``, the HRNet
stem of B / L (``conv1`` .. ``stage3``) at the top level. Inside a base,
the transformer is ``transformer`` (or ``transformer1..3`` for L), each
layer ``[Residual(PreNorm(Attention)), Residual(PreNorm(FeedForward))]``,
so ``layers.{i}.{0|1}.fn`` is the ``PreNorm`` and ``.fn.fn`` its body;
``FeedForward.net`` is ``[Linear, GELU, Dropout, Linear, Dropout]``.
After the model prefix (``features.`` or ``transformer.``) and a
``DataParallel`` ``module.`` are dropped, with ``L`` for the authors'
``transformer{,1,2,3}.layers.{i}`` and ``T`` for our
``backbone.transformers.{t}.layers.{i}`` (t = 0, 0, 1, 2):

====================================  ====================================
authors' key                          simdr_ext key
====================================  ====================================
``{conv,bn}{1,2}.*`` ``layer1.*``     ``backbone.stem.<same>``
``transition1 transition2`` ``.*``    ``backbone.stem.<same>``
``stage2 stage3`` ``.*``              ``backbone.stem.<same>``
``keypoint_token``                    ``backbone.keypoint_tokens``
``pos_embedding``                     ``backbone.pos_embed``
``patch_to_embedding.*``              ``backbone.patch_embed.proj.*``
``L.0.fn.norm.*``                     ``T.norm1.*``
``L.0.fn.fn.to_qkv.weight``           ``T.attn.qkv.weight``
``L.0.fn.fn.to_out.0.*``              ``T.attn.proj.*``
``L.1.fn.norm.*``                     ``T.norm2.*``
``L.1.fn.fn.net.0.*``                 ``T.mlp.fc1.*``
``L.1.fn.fn.net.3.*``                 ``T.mlp.fc2.*``
``mlp_head.{0,1,2,3}.*``              ``head.mlp_head.{0,1,2,3}.*``
====================================  ====================================

The stem names are mmpose's ``HRNet`` names, which are the authors' (and
those of TokenPose-S's stem-net, HRNet's stem with stage 1 only).
Tensors are copied unchanged: the layouts agree (``to_qkv``'s output rows
are ``(3, heads, head_dim)`` in both, patches are ``(p1 p2 c)`` in both).
Any other key is reported as unmapped and left out.
"""
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Tuple

from torch import Tensor

# one key check serves both converters
from .checkpoint_conversion import check_against  # noqa: F401

#: first-level names inside the authors' ``TokenPose_*_base``
BASE_NAMES = ('keypoint_token', 'pos_embedding', 'patch_to_embedding',
              'transformer', 'transformer1', 'transformer2', 'transformer3',
              'mlp_head')
#: first-level names of the stem (HRNet / TokenPose-S stem-net)
STEM_NAMES = ('conv1', 'bn1', 'conv2', 'bn2', 'layer1', 'transition1',
              'transition2', 'stage2', 'stage3')
#: model wrappers around a base: ``features`` (S), ``transformer`` (T/B/L)
MODEL_PREFIXES = ('features.', 'transformer.')

_LAYER = r'^transformer(?P<t>[123]?)\.layers\.(?P<i>\d+)\.'
#: (pattern, replacement) on prefix-free keys; ``{t}`` is the stack index
RULES: List[Tuple[str, str]] = [
    (r'^(?P<m>(?:' + '|'.join(STEM_NAMES) + r')\..+)$',
     r'backbone.stem.\g<m>'),
    (r'^keypoint_token$', 'backbone.keypoint_tokens'),
    (r'^pos_embedding$', 'backbone.pos_embed'),
    (r'^patch_to_embedding\.(?P<p>weight|bias)$',
     r'backbone.patch_embed.proj.\g<p>'),
    (_LAYER + r'0\.fn\.norm\.(?P<p>weight|bias)$', 'norm1.{p}'),
    (_LAYER + r'0\.fn\.fn\.to_qkv\.(?P<p>weight)$', 'attn.qkv.{p}'),
    (_LAYER + r'0\.fn\.fn\.to_out\.0\.(?P<p>weight|bias)$', 'attn.proj.{p}'),
    (_LAYER + r'1\.fn\.norm\.(?P<p>weight|bias)$', 'norm2.{p}'),
    (_LAYER + r'1\.fn\.fn\.net\.0\.(?P<p>weight|bias)$', 'mlp.fc1.{p}'),
    (_LAYER + r'1\.fn\.fn\.net\.3\.(?P<p>weight|bias)$', 'mlp.fc2.{p}'),
    (r'^mlp_head\.(?P<j>\d)\.(?P<p>weight|bias)$',
     r'head.mlp_head.\g<j>.\g<p>'),
]
_COMPILED = [(re.compile(p), r) for p, r in RULES]


@dataclass
class ConversionReport:
    """What :func:`convert` did.

    Args:
        mapped (dict): Source key -> destination key.
        unmapped (list): Source keys with no destination (left out).
        stripped_prefix (str): The ``DataParallel`` prefix dropped from
            every key (``''`` or ``'module.'``).
        num_transformers (int): Transformer stacks found (1, or 3 for L).
    """

    mapped: Dict[str, str] = field(default_factory=dict)
    unmapped: List[str] = field(default_factory=list)
    stripped_prefix: str = ''
    num_transformers: int = 0

    @property
    def ok(self) -> bool:
        """True when every key was mapped."""
        return not self.unmapped

    def summary(self) -> str:
        """One line per fact, then the unmapped keys."""
        lines = [
            f'transformer stacks: {self.num_transformers}',
            f'mapped keys: {len(self.mapped)}',
            f'unmapped keys: {len(self.unmapped)}',
        ]
        if self.stripped_prefix:
            lines.append(f'dropped prefix: {self.stripped_prefix!r}')
        lines += [f'  unmapped: {k}' for k in self.unmapped]
        return '\n'.join(lines)


def strip_model_prefix(key: str) -> str:
    """Drop the wrapper's ``features.`` / ``transformer.`` from one key.

    The prefix is dropped only when what follows is a base or stem name, so
    the inner ``transformer.layers...`` of TokenPose-S (after
    ``features.``) is kept, and B's ``transformer.transformer.layers...``
    loses one ``transformer.``.

    Args:
        key (str): An authors' key without ``module.``.

    Returns:
        str: The key relative to the base (or stem).
    """
    for prefix in MODEL_PREFIXES:
        if key.startswith(prefix):
            rest = key[len(prefix):]
            if rest.split('.', 1)[0] in BASE_NAMES + STEM_NAMES:
                return rest
    return key


def map_key(key: str) -> Optional[str]:
    """simdr_ext's name of one prefix-free authors' key, or None.

    Args:
        key (str): Output of :func:`strip_model_prefix`.

    Returns:
        str | None: The destination key.
    """
    for pattern, repl in _COMPILED:
        m = pattern.match(key)
        if m is None:
            continue
        if 'i' in pattern.groupindex:  # a transformer layer
            t = int(m['t']) - 1 if m['t'] else 0
            return (f'backbone.transformers.{t}.layers.{m["i"]}.' +
                    repl.format(p=m['p']))
        return m.expand(repl)
    return None


def convert(
    src: Mapping[str, Tensor]
) -> Tuple['OrderedDict[str, Tensor]', ConversionReport]:
    """Rename an authors' TokenPose state dict to simdr_ext keys.

    Args:
        src (Mapping[str, Tensor]): The authors' ``state_dict`` (any of
            ``pose_tokenpose_{t,s,b,l}``, optionally ``module.``-prefixed).

    Returns:
        tuple: The converted ``OrderedDict`` (keys of a
        ``TopdownPoseEstimator`` with a ``TokenPose`` backbone and a
        ``TokenPoseHeatmapHead``; tensors shared with ``src``) and a
        :class:`ConversionReport`.
    """
    keys = list(src)
    prefix = 'module.' if keys and all(k.startswith('module.')
                                       for k in keys) else ''
    report = ConversionReport(stripped_prefix=prefix)
    dst: 'OrderedDict[str, Tensor]' = OrderedDict()
    stacks = set()
    for key in keys:
        new = map_key(strip_model_prefix(key[len(prefix):]))
        if new is None:
            report.unmapped.append(key)
            continue
        if new in dst:
            first = next(k for k, v in report.mapped.items() if v == new)
            raise ValueError(f'{first} and {key} both map to {new}')
        dst[new] = src[key]
        report.mapped[key] = new
        if new.startswith('backbone.transformers.'):
            stacks.add(new.split('.')[2])
    report.num_transformers = len(stacks)
    return dst, report

