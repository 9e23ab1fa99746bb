# Copyright (c) simdr_ext contributors. All rights reserved.
"""Rename the TokenPose authors' checkpoints to simdr_ext's keys.

Reference: leeyegy/TokenPose at commit ``ac939fa``
(https://github.com/leeyegy/TokenPose/tree/ac939fa/lib/models). The
authors' models wrap a base module of ``tokenpose_base.py``:

- ``pose_tokenpose_s.py`` (``TokenPose_S``): ``TokenPose_S_base`` as
  ``features``, its stem-net (``conv1 bn1 conv2 bn2 layer1``) inside it;
- ``pose_tokenpose_b.py`` / ``_l.py`` (``TokenPose_B`` / ``TokenPose_L``):
  ``HRNET_base`` of ``hr_base.py`` (``conv1`` .. ``stage3``) as
  ``pre_feature``, ``TokenPose_TB_base`` / ``TokenPose_L_base`` as
  ``transformer``;
- ``pose_tokenpose_t.py`` (``TokenPose_T``): ``TokenPose_TB_base`` as
  ``transformer``, no stem.

Inside a base, the transformer is ``transformer`` (or ``transformer1..3``
for L), each layer ``[Residual(PreNorm(Attention)),
Residual(PreNorm(FeedForward))]``, so ``layers.{i}.{0|1}.fn`` is the
``PreNorm`` and ``.fn.fn`` its body; ``FeedForward.net`` is ``[Linear, GELU,
Dropout, Linear, Dropout]``. After a ``DataParallel`` ``module.`` (the
authors' ``checkpoint.pth``; ``final_state.pth`` and ``model_best.pth`` have
none) and the wrapper (``features.``, ``pre_feature.``, ``transformer.``)
are dropped, with ``L`` for the authors' ``transformer{,1,2,3}.layers.{i}``
and ``T`` for our ``backbone.transformers.{t}.layers.{i}`` (t = 0, 0, 1,
2):

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
The authors' ``mlp_head`` gives heatmaps: their checkpoints fit the
``dark_tokenpose-*`` configs (``TokenPoseHeatmapHead``), not the
``simdr_tokenpose-*`` ones, whose ``SimDRHead`` the authors' code lacks.
Any other key, or a key outside the wrapper its name belongs in, is
unmapped: :func:`convert` raises
:class:`~simdr_ext.utils.checkpoint_conversion.UnmappedKeysError` (or, with
``strict=False``, lists it in the report and leaves it out). The key
layouts the converter is tested on are written down in
``tests/data/author_layouts/``.
"""
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import List, Mapping, Optional, Tuple

from torch import Tensor

# one report, key check and prefix rule serve both converters
from .checkpoint_conversion import check_against  # noqa: F401
from .checkpoint_conversion import (ConversionReport, UnmappedKeysError,
                                    check_source, strip_data_parallel)

#: first-level names inside the authors' ``TokenPose_*_base``
BASE_NAMES = ('keypoint_token', 'pos_embedding', 'patch_to_embedding',
              'transformer', 'transformer1', 'transformer2', 'transformer3',
              'mlp_head')
#: first-level names of ``HRNET_base`` (TokenPose-B / -L's stem)
STEM_NAMES = ('conv1', 'bn1', 'conv2', 'bn2', 'layer1', 'transition1',
              'transition2', 'stage2', 'stage3')
#: the stem-net inside ``TokenPose_S_base``
S_STEM_NAMES = ('conv1', 'bn1', 'conv2', 'bn2', 'layer1')
#: wrapper attribute -> first-level names it may hold: ``features``
#: (TokenPose_S), ``pre_feature`` (HRNET_base of B / L), ``transformer``
#: (the base of T / B / L)
WRAPPERS = {
    'features': BASE_NAMES + S_STEM_NAMES,
    'pre_feature': STEM_NAMES,
    'transformer': BASE_NAMES,
}
#: the authors' model classes, by the wrappers present
MODEL_CLASSES = {
    ('features', ): 'TokenPose_S (features)',
    ('pre_feature', 'transformer'):
    'TokenPose_B / TokenPose_L (pre_feature + transformer)',
    ('transformer', ): 'TokenPose_T (transformer)',
}

_LAYER = r'^transformer(?P<t>[123]?)\.layers\.(?P<i>\d+)\.'
#: (pattern, replacement) on wrapper-free keys; ``{t}`` is the stack index
RULES: List[Tuple[str, str]] = [
    (r'^(?P<m>(?:' + '|'.join(STEM_NAMES) + r')\..+)$',
     r'backbone.stem.\g<m>'),
    (r'^keypoint_token$', 'backbone.keypoint_tokens'),
    (r'^pos_embedding$', 'backbone.pos_embed'),
    (r'^patch_to_embedding\.(?P<p>weight|bias)$',
     r'backbone.patch_embed.proj.\g<p>'),
    (_LAYER + r'0\.fn\.norm\.(?P<p>weight|bias)$', 'norm1.{p}'),
    (_LAYER + r'0\.fn\.fn\.to_qkv\.(?P<p>weight)$', 'attn.qkv.{p}'),
    (_LAYER + r'0\.fn\.fn\.to_out\.0\.(?P<p>weight|bias)$',
     'attn.proj.{p}'),
    (_LAYER + r'1\.fn\.norm\.(?P<p>weight|bias)$', 'norm2.{p}'),
    (_LAYER + r'1\.fn\.fn\.net\.0\.(?P<p>weight|bias)$', 'mlp.fc1.{p}'),
    (_LAYER + r'1\.fn\.fn\.net\.3\.(?P<p>weight|bias)$', 'mlp.fc2.{p}'),
    (r'^mlp_head\.(?P<j>\d)\.(?P<p>weight|bias)$',
     r'head.mlp_head.\g<j>.\g<p>'),
]
_COMPILED = [(re.compile(p), r) for p, r in RULES]


@dataclass
class TokenPoseConversionReport(ConversionReport):
    """What :func:`convert` did (:class:`ConversionReport` plus the layout).

    Args:
        wrappers (tuple): The authors' wrapper attributes found, sorted
            (``('features',)``, ``('pre_feature', 'transformer')`` or
            ``('transformer',)``).
        num_transformers (int): Transformer stacks found (1, or 3 for L).
    """

    wrappers: Tuple[str, ...] = ()
    num_transformers: int = 0

    @property
    def layout(self) -> str:
        """E.g. ``'TokenPose_S (features), 1 transformer stack'``."""
        model = MODEL_CLASSES.get(
            self.wrappers, 'unknown wrappers ' + ', '.join(self.wrappers))
        s = '' if self.num_transformers == 1 else 's'
        return f'{model}, {self.num_transformers} transformer stack{s}'


def strip_model_prefix(key: str) -> Optional[str]:
    """Drop the wrapper (``features.``, ``pre_feature.``, ``transformer.``)
    from one key.

    The wrapper is dropped only when what follows is a name that wrapper
    holds (:data:`WRAPPERS`), so B's ``transformer.transformer.layers...``
    loses one ``transformer.``, and ``pre_feature.`` takes only stem names.

    Args:
        key (str): An authors' key without ``module.``.

    Returns:
        str | None: The key relative to the base (or stem), or ``None`` when
        it is not inside a wrapper that may hold it.
    """
    wrapper, _, rest = key.partition('.')
    if rest and rest.split('.', 1)[0] in WRAPPERS.get(wrapper, ()):
        return rest
    return None


def map_key(key: str) -> Optional[str]:
    """simdr_ext's name of one wrapper-free authors' key, or None.

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
    src: Mapping[str, Tensor],
    strict: bool = True
) -> Tuple['OrderedDict[str, Tensor]', TokenPoseConversionReport]:
    """Rename an authors' TokenPose state dict to simdr_ext keys.

    Args:
        src (Mapping[str, Tensor]): The authors' ``state_dict`` (any of
            ``pose_tokenpose_{t,s,b,l}``, optionally ``module.``-prefixed).
        strict (bool): Raise on unmapped keys. Defaults to ``True``; with
            ``False`` they are listed in the report and left out.

    Returns:
        tuple: The converted ``OrderedDict`` (keys of a
        ``TopdownPoseEstimator`` with a ``TokenPose`` backbone and a
        ``TokenPoseHeatmapHead``; tensors shared with ``src``) and a
        :class:`TokenPoseConversionReport`.

    Raises:
        UnmappedKeysError: ``strict`` and some keys have no simdr_ext name;
            the message lists a few of them.
        TypeError: ``src`` is not a mapping of str to tensors.
        ValueError: two keys map to the same simdr_ext key.
    """
    check_source(src)
    keys = list(src)
    prefix = strip_data_parallel(keys)
    report = TokenPoseConversionReport(stripped_prefix=prefix)
    dst: 'OrderedDict[str, Tensor]' = OrderedDict()
    stacks, wrappers = set(), set()
    for key in keys:
        bare = key[len(prefix):]
        inner = strip_model_prefix(bare)
        new = None if inner is None else map_key(inner)
        if new is None:
            report.unmapped.append(key)
            continue
        if new in dst:
            first = next(k for k, v in report.mapped.items() if v == new)
            raise ValueError(f'{first} and {key} both map to {new}')
        dst[new] = src[key]
        report.mapped[key] = new
        wrappers.add(bare.split('.', 1)[0])
        if new.startswith('backbone.transformers.'):
            stacks.add(new.split('.')[2])
    report.wrappers = tuple(sorted(wrappers))
    report.num_transformers = len(stacks)
    if strict and not report.ok:
        raise UnmappedKeysError(report)
    return dst, report
