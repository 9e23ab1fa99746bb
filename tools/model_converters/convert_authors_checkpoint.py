# Copyright (c) simdr_ext contributors. All rights reserved.
"""Convert the SimDR or TokenPose authors' checkpoints to simdr_ext keys.

Example::

    python tools/model_converters/convert_authors_checkpoint.py \\
        --model simdr pose_resnet_50_simdr_256x192.pth \\
        simdr_res50_256x192.pth \\
        --config configs/simdr/coco/simdr_res50_4xb32-140e_coco-256x192.py
    CONFIG=configs/tokenpose/coco/dark_tokenpose-s_4xb32-300e_coco-256x192.py
    python tools/model_converters/convert_authors_checkpoint.py \\
        --model tokenpose tokenpose_s_v1.pth \\
        dark_tokenpose-s_coco-256x192.pth --config $CONFIG

Reads ``SRC`` with simdr_ext's checked loader (``weights_only``; a plain
state dict such as the authors' ``final_state.pth`` / ``model_best.pth``,
or their training ``checkpoint.pth``, whose ``state_dict`` entry holds
``module.`` keys), renames the keys (:func:`convert_simdr` or
:func:`convert_tokenpose`) and writes ``{'state_dict': ..., 'meta': ...}``
to ``DST``, which ``load_from`` and ``tools/test.py`` accept. With
``--config`` the result is also checked against the keys and shapes of
that config's model. Exits 1 when a key is unmapped or the check fails
(``DST`` is then not written). Both conversions print one report
(:class:`ConversionReport`)::

    layout: pose_resnet backbone, simdr head with deconvolutions
    dropped prefix: 'module.'
    mapped keys: 342
    unmapped keys: 0
    checked against: simdr_res50_4xb32-140e_coco-256x192.py
    missing keys: 0
    unexpected keys: 0
    shape mismatches: 0
    dtype mismatches: 0

then the first few keys of each kind of problem. A key without a
simdr_ext name is an error (:class:`UnmappedKeysError`, listing a few of
them), never silently dropped. The authors' key layouts the conversions
are tested on are written down in ``tests/data/author_layouts/``.

SimDR (``--model simdr``)
-------------------------
The SimDR authors' repository (leeyegy/SimDR, now leeyegy/SimCC) builds its
models as one ``nn.Module`` each, after the HRNet code base:

- ``pose_resnet`` (SimpleBaseline): ``conv1, bn1, layer1 .. layer4``
  (torchvision's ResNet names), ``deconv_layers`` (a ``Sequential`` of
  ``ConvTranspose2d, BatchNorm2d, ReLU`` per deconvolution, so indices
  0, 1 / 3, 4 / 6, 7 hold parameters), ``final_layer`` (1x1 conv to K
  maps) and, for SimDR, ``mlp_head_x`` / ``mlp_head_y``;
- ``pose_resnet_upfree``: the same without ``deconv_layers``;
  ``final_layer`` maps to ``K * CHANNEL_PER_JOINT`` channels;
- ``pose_hrnet``: ``conv1, bn1, conv2, bn2, layer1, transition1, stage2,
  transition2, stage3, transition3, stage4`` (``branches`` and
  ``fuse_layers`` inside each stage module), ``final_layer`` and, for
  SimDR, ``mlp_head_x`` / ``mlp_head_y``.

mmpose's ``ResNet`` and ``HRNet`` use exactly these backbone names, and
mmpose's ``HeatmapHead`` builds ``deconv_layers`` with the same
``Sequential`` layout, so the conversion is a prefix map (checked on the
authors' full key layouts against the models of the configs):

- ``conv1.*``, ``bn1.*``, ``layer1.*`` ... ``stage4.*`` ->
  ``backbone.<same>``;
- SimDR checkpoints (``mlp_head_x`` present): ``deconv_layers.*`` ->
  ``head.deconv_head.deconv_layers.*``; ``final_layer.*`` ->
  ``head.deconv_head.final_layer.*`` after deconvolutions, else
  ``head.final_layer.*``; ``mlp_head_x.*`` / ``mlp_head_y.*`` ->
  ``head.mlp_head_x.*`` / ``head.mlp_head_y.*``;
- heatmap checkpoints (no ``mlp_head``): ``deconv_layers.*`` /
  ``final_layer.*`` -> ``head.deconv_layers.*`` / ``head.final_layer.*``
  (mmpose's ``HeatmapHead``).

A leading ``module.`` is dropped: the authors' ``final_state.pth`` and
``model_best.pth`` hold ``model.module.state_dict()`` (bare keys), their
``checkpoint.pth`` the ``DataParallel`` model's ``state_dict()`` (``module.``
keys; ``tools/train.py``). Any other key is unmapped: :func:`convert_simdr`
raises :class:`UnmappedKeysError` (or, with ``strict=False``, lists it in
the report and leaves it out).

TokenPose (``--model tokenpose``)
---------------------------------
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
unmapped: :func:`convert_tokenpose` raises :class:`UnmappedKeysError`
(or, with ``strict=False``, lists it in the report and leaves it out). No
TokenPose weights were released (leeyegy/TokenPose#4-#6): this is for
checkpoints trained with the authors' code.
"""
import argparse
import os.path as osp
import re
import sys
from collections import OrderedDict
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from torch import Tensor

import simdr_ext  # noqa: F401  (registers the models)
from mmpose.registry import MODELS
from simdr_ext.engine import state_dict_differences
from simdr_ext.engine.trusted_load import torch_load_checked
from simdr_ext.utils.cli import tool_parser

# ----------------------------------------------------------------------------
# the report, the key check and the loading both conversions share
# ----------------------------------------------------------------------------
#: keys shown in a report or an error before "... and N more"
SHOWN = 10
#: keys named in the one-line unmapped-keys error
SHOWN_IN_ERROR = 5

DATA_PARALLEL_PREFIX = 'module.'


def _first(keys: Sequence[str], n: int) -> str:
    names = ', '.join(repr(k) for k in keys[:n])
    more = f' and {len(keys) - n} more' if len(keys) > n else ''
    return names + more


@dataclass
class ConversionReport:
    """What a conversion did.

    Args:
        mapped (dict): Source key -> destination key, in source order.
        unmapped (list): Source keys with no destination (left out).
        stripped_prefix (str): The ``DataParallel`` prefix dropped from
            every key: ``''`` or ``'module.'``.
        checked_against (str, optional): Name of the model (config) the
            result was checked against by :meth:`check`; ``None`` until
            then.
        problems (list): :func:`check_against`'s lines (``missing: k``,
            ``unexpected: k``, ``shape: k ...``, ``dtype: k ...``) from
            :meth:`check`.
    """

    mapped: Dict[str, str] = field(default_factory=dict)
    unmapped: List[str] = field(default_factory=list)
    stripped_prefix: str = ''
    checked_against: Optional[str] = None
    problems: List[str] = field(default_factory=list)

    @property
    def layout(self) -> str:
        """The source layout found (converters override this)."""
        return 'unknown'

    @property
    def ok(self) -> bool:
        """True when every key was mapped."""
        return not self.unmapped

    def _count(self, kind: str) -> int:
        return sum(line.startswith(kind + ': ') for line in self.problems)

    def check(self, dst: Mapping[str, Tensor], reference: Mapping[str, Tensor],
              name: str) -> List[str]:
        """Compare the converted state dict with a model's; keep the result.

        Args:
            dst (Mapping[str, Tensor]): The converted state dict.
            reference (Mapping[str, Tensor]): ``model.state_dict()``.
            name (str): What ``reference`` is (e.g. the config's file
                name), for the summary.

        Returns:
            list[str]: :func:`check_against`'s lines; empty when
            ``load_state_dict(strict=True)`` succeeds.
        """
        self.checked_against = name
        self.problems = check_against(dst, reference)
        return self.problems

    def summary(self) -> str:
        """The report: layout, prefix, counts, then the first
        :data:`SHOWN` keys of each kind of problem."""
        lines = [f'layout: {self.layout}']
        if self.stripped_prefix:
            lines.append(f'dropped prefix: {self.stripped_prefix!r}')
        lines += [
            f'mapped keys: {len(self.mapped)}',
            f'unmapped keys: {len(self.unmapped)}',
        ]
        lines += [f'  unmapped: {k}' for k in self.unmapped[:SHOWN]]
        if len(self.unmapped) > SHOWN:
            lines.append(f'  ... and {len(self.unmapped) - SHOWN} more')
        if self.checked_against is None:
            lines.append('checked against: no model (none given)')
            return '\n'.join(lines)
        lines += [
            f'checked against: {self.checked_against}',
            f'missing keys: {self._count("missing")}',
            f'unexpected keys: {self._count("unexpected")}',
            f'shape mismatches: {self._count("shape")}',
            f'dtype mismatches: {self._count("dtype")}',
        ]
        for kind in ('missing', 'unexpected', 'shape', 'dtype'):
            found = [p for p in self.problems if p.startswith(kind + ': ')]
            lines += [f'  {p}' for p in found[:SHOWN]]
            if len(found) > SHOWN:
                lines.append(f'  ... and {len(found) - SHOWN} more {kind}')
        return '\n'.join(lines)

    def unmapped_message(self) -> str:
        """One line naming the number of unmapped keys and a few of them."""
        total = len(self.unmapped) + len(self.mapped)
        return (f'{len(self.unmapped)} of {total} keys have no simdr_ext '
                f'name (layout: {self.layout}): '
                f'{_first(self.unmapped, SHOWN_IN_ERROR)}')


class UnmappedKeysError(ValueError):
    """Keys of the source checkpoint that the converter cannot name.

    Args:
        report (ConversionReport): The conversion's report; the message
            lists a few of its unmapped keys.
    """

    def __init__(self, report: ConversionReport) -> None:
        super().__init__(report.unmapped_message())
        self.report = report


def strip_data_parallel(keys: Sequence[str]) -> str:
    """``'module.'`` when every key has it (``nn.DataParallel``'s
    ``state_dict()``, as in the authors' ``checkpoint.pth``), else ``''``.
    """
    if keys and all(k.startswith(DATA_PARALLEL_PREFIX) for k in keys):
        return DATA_PARALLEL_PREFIX
    return ''


def check_source(src: Mapping, what: str = 'the source state dict') -> None:
    """Reject a source that is not a state dict of tensors.

    Raises:
        TypeError: naming the first offending entry.
    """
    if not isinstance(src, MappingABC):
        raise TypeError(f'{what} must be a mapping of key -> tensor, got '
                        f'{type(src).__name__}')
    for key, value in src.items():
        if not isinstance(key, str) or not isinstance(value, Tensor):
            raise TypeError(
                f'{what} must map str keys to tensors; entry {key!r} is a '
                f'{type(value).__name__}')


def check_against(dst: Mapping[str, Tensor],
                  reference: Mapping[str, Tensor]) -> List[str]:
    """Differences between a converted state dict and a model's.

    Args:
        dst (Mapping[str, Tensor]): A converted state dict.
        reference (Mapping[str, Tensor]): ``model.state_dict()`` of the
            model the weights are for.

    Returns:
        list[str]: One line per missing, unexpected, mis-shaped or
        wrong-kind (integer vs floating point) key
        (:func:`simdr_ext.engine.state_dict_differences`); empty when
        ``load_state_dict(strict=True)`` succeeds. Missing
        ``num_batches_tracked`` buffers are not reported: checkpoints of
        PyTorch < 0.4.1 lack them and BatchNorm fills them in on load.
    """
    return [
        line for line in state_dict_differences(reference, dst)
        if not (line.startswith('missing: ')
                and line.endswith('num_batches_tracked'))
    ]


def load_state_dict(path: str) -> dict:
    """The state dict inside a ``.pth`` file, read by simdr_ext's checked
    loader (:func:`simdr_ext.engine.trusted_load.torch_load_checked`:
    ``weights_only``, zip records and tensor views checked).

    Args:
        path (str): A plain state dict (the authors' ``final_state.pth`` /
            ``model_best.pth``) or a checkpoint with a ``state_dict`` entry
            (the authors' ``checkpoint.pth``, whose ``state_dict`` holds
            ``module.`` keys; an mmengine checkpoint).

    Returns:
        dict: The state dict.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        TypeError: the file is no PyTorch checkpoint (or needs more than
            ``weights_only`` loading), or holds no state dict of tensors.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint {path} does not exist')
    try:
        ckpt = torch_load_checked(path, map_location='cpu')
    except Exception as err:  # unpickling / zip errors of many kinds
        raise TypeError(f'cannot read {path} as a PyTorch checkpoint '
                        f'({type(err).__name__}: {err})'.split('\n')[0]) \
            from None
    if isinstance(ckpt, dict) and isinstance(ckpt.get('state_dict'), dict):
        ckpt = ckpt['state_dict']
    check_source(ckpt, f'the state dict in {path}')
    return ckpt


def reference_state_dict(config: str) -> dict:
    """``state_dict()`` of a config's model, built on the ``meta`` device:
    keys, shapes and dtypes without memory or initialisation (so no
    pretrained weights are downloaded either).

    Args:
        config (str): A simdr_ext config file.

    Returns:
        dict: The model's state dict.

    Raises:
        FileNotFoundError: ``config`` does not exist.
    """
    if not osp.isfile(config):
        raise FileNotFoundError(f'config {config} does not exist')
    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmpose'))
    with torch.device('meta'):
        return MODELS.build(cfg.model).state_dict()


def rename_keys(src: Mapping[str, Tensor], report: ConversionReport,
                name_of: Callable[[str], Optional[str]],
                strict: bool) -> 'OrderedDict[str, Tensor]':
    """Rename every key of ``src`` with ``name_of``, recording the map.

    Args:
        src (Mapping[str, Tensor]): The authors' state dict.
        report (ConversionReport): Filled with the dropped ``module.``
            prefix, the mapped and the unmapped keys.
        name_of (callable): Key without ``module.`` -> simdr_ext key, or
            ``None`` when it has none.
        strict (bool): Raise on unmapped keys.

    Returns:
        OrderedDict[str, Tensor]: The same tensors under simdr_ext's keys,
        in the source order.

    Raises:
        UnmappedKeysError: ``strict`` and some keys have no simdr_ext name.
        ValueError: two keys map to the same simdr_ext key.
    """
    keys = list(src)
    report.stripped_prefix = strip_data_parallel(keys)
    dst: 'OrderedDict[str, Tensor]' = OrderedDict()
    for key in keys:
        new = name_of(key[len(report.stripped_prefix):])
        if new is None:
            report.unmapped.append(key)
            continue
        if new in dst:
            first = next(k for k, v in report.mapped.items() if v == new)
            raise ValueError(f'{first} and {key} both map to {new}')
        dst[new] = src[key]
        report.mapped[key] = new
    if strict and not report.ok:
        raise UnmappedKeysError(report)
    return dst


# ----------------------------------------------------------------------------
# SimDR (leeyegy/SimCC): pose_resnet, pose_resnet_upfree, pose_hrnet
# ----------------------------------------------------------------------------
#: first-level module names of the authors' backbones (pose_resnet and
#: pose_hrnet), identical in mmpose's ResNet / HRNet
BACKBONE_MODULES = ('conv1', 'bn1', 'conv2', 'bn2', 'layer1', 'layer2',
                    'layer3', 'layer4', 'transition1', 'transition2',
                    'transition3', 'stage2', 'stage3', 'stage4')
HEAD_MODULES = ('deconv_layers', 'final_layer', 'mlp_head_x', 'mlp_head_y')
HRNET_ONLY = ('conv2', 'bn2', 'transition1', 'stage2')
RESNET_ONLY = ('layer2', 'layer3', 'layer4')


@dataclass
class SimDRConversionReport(ConversionReport):
    """What :func:`convert_simdr` did (:class:`ConversionReport` plus the
    layout).

    Args:
        backbone (str): ``'pose_resnet'``, ``'pose_hrnet'`` or
            ``'unknown'``.
        head (str): ``'simdr'`` (``mlp_head_x`` present), ``'heatmap'``
            or ``'none'``.
        deconv (bool): Whether the checkpoint has ``deconv_layers``.
    """

    backbone: str = 'unknown'
    head: str = 'none'
    deconv: bool = False

    @property
    def layout(self) -> str:
        """E.g. ``'pose_resnet backbone, simdr head with deconvolutions'``.
        """
        text = f'{self.backbone} backbone, {self.head} head'
        if self.deconv:
            text += ' with deconvolutions'
        elif self.backbone == 'pose_resnet' and self.head == 'simdr':
            text += ' (upsample-free)'
        return text


def _top(key: str) -> str:
    return key.split('.', 1)[0]


def detect_layout(keys: List[str]) -> Tuple[str, str, bool]:
    """Backbone layout, head type and deconvolutions of the authors' keys.

    Args:
        keys (list): State-dict keys without the ``module.`` prefix.

    Returns:
        tuple: ``(backbone, head, deconv)`` as in
        :class:`SimDRConversionReport`.
    """
    tops = {_top(k) for k in keys}
    if tops & set(HRNET_ONLY) and not tops & set(RESNET_ONLY):
        backbone = 'pose_hrnet'
    elif tops & set(RESNET_ONLY) and not tops & set(HRNET_ONLY):
        backbone = 'pose_resnet'
    else:
        backbone = 'unknown'
    if 'mlp_head_x' in tops or 'mlp_head_y' in tops:
        head = 'simdr'
    elif 'final_layer' in tops or 'deconv_layers' in tops:
        head = 'heatmap'
    else:
        head = 'none'
    return backbone, head, 'deconv_layers' in tops


def simdr_key(key: str, head: str, deconv: bool) -> Optional[str]:
    """simdr_ext's name of one authors' key, or None if it has none.

    Args:
        key (str): An authors' key without ``module.``.
        head (str): ``'simdr'`` or ``'heatmap'`` (from :func:`detect_layout`).
        deconv (bool): Whether the checkpoint has ``deconv_layers``.

    Returns:
        str | None: The destination key.
    """
    top = _top(key)
    if top in BACKBONE_MODULES:
        return f'backbone.{key}'
    if top not in HEAD_MODULES:
        return None
    if head == 'simdr':
        if top == 'deconv_layers' or (top == 'final_layer' and deconv):
            # SimDRHead keeps SimpleBaseline's deconvs + 1x1 conv in an
            # mmpose HeatmapHead named deconv_head (as mmpose's SimCCHead)
            return f'head.deconv_head.{key}'
        return f'head.{key}'
    if top in ('deconv_layers', 'final_layer'):
        return f'head.{key}'
    return None


def convert_simdr(
    src: Mapping[str, Tensor],
    strict: bool = True
) -> Tuple['OrderedDict[str, Tensor]', SimDRConversionReport]:
    """Convert a SimDR authors' state dict to simdr_ext's keys.

    Args:
        src (Mapping[str, Tensor]): The authors' model state dict
            (``final_state.pth``, or the ``state_dict`` entry of a training
            checkpoint), optionally with ``module.`` keys.
        strict (bool): Raise on unmapped keys. Defaults to ``True``; with
            ``False`` they are listed in the report and left out.

    Returns:
        tuple:
        - dst_state_dict (OrderedDict[str, Tensor]): The same tensors under
          simdr_ext's keys, in the source order.
        - report (SimDRConversionReport): Layout found, the key map and the
          unmapped keys.

    Raises:
        UnmappedKeysError: ``strict`` and some keys have no simdr_ext name;
            the message lists a few of them.
        TypeError: ``src`` is not a mapping of str to tensors.
    """
    check_source(src)
    prefix = strip_data_parallel(list(src))
    backbone, head, deconv = detect_layout([k[len(prefix):] for k in src])
    report = SimDRConversionReport(backbone=backbone, head=head, deconv=deconv)
    dst = rename_keys(src, report, lambda key: simdr_key(key, head, deconv),
                      strict)
    return dst, report


# ----------------------------------------------------------------------------
# TokenPose (leeyegy/TokenPose): pose_tokenpose_{t,s,b,l}
# ----------------------------------------------------------------------------
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
    (_LAYER + r'0\.fn\.fn\.to_out\.0\.(?P<p>weight|bias)$', 'attn.proj.{p}'),
    (_LAYER + r'1\.fn\.norm\.(?P<p>weight|bias)$', 'norm2.{p}'),
    (_LAYER + r'1\.fn\.fn\.net\.0\.(?P<p>weight|bias)$', 'mlp.fc1.{p}'),
    (_LAYER + r'1\.fn\.fn\.net\.3\.(?P<p>weight|bias)$', 'mlp.fc2.{p}'),
    (r'^mlp_head\.(?P<j>\d)\.(?P<p>weight|bias)$',
     r'head.mlp_head.\g<j>.\g<p>'),
]
_COMPILED = [(re.compile(p), r) for p, r in RULES]


@dataclass
class TokenPoseConversionReport(ConversionReport):
    """What :func:`convert_tokenpose` did (:class:`ConversionReport` plus the
    layout).

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


def tokenpose_base_key(key: str) -> Optional[str]:
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


def convert_tokenpose(
    src: Mapping[str, Tensor],
    strict: bool = True
) -> Tuple['OrderedDict[str, Tensor]', TokenPoseConversionReport]:
    """Rename an authors' TokenPose state dict (any of
    ``pose_tokenpose_{t,s,b,l}``, optionally ``module.``-prefixed) to the
    keys of a ``TopdownPoseEstimator`` with a ``TokenPose`` backbone and a
    ``TokenPoseHeatmapHead``. Arguments, results (tensors shared with
    ``src``, a :class:`TokenPoseConversionReport`) and errors are
    :func:`convert_simdr`'s; two keys mapping to one simdr_ext key raise
    ``ValueError``."""
    check_source(src)
    report = TokenPoseConversionReport()
    dst = rename_keys(src, report, tokenpose_key, strict)
    prefix = len(report.stripped_prefix)
    report.wrappers = tuple(
        sorted({k[prefix:].split('.', 1)[0]
                for k in report.mapped}))
    report.num_transformers = len({
        new.split('.')[2]
        for new in dst if new.startswith('backbone.transformers.')
    })
    return dst, report


def tokenpose_key(key: str) -> Optional[str]:
    """simdr_ext's name of one authors' key without ``module.``, or None:
    :func:`tokenpose_base_key` after :func:`strip_model_prefix`."""
    inner = strip_model_prefix(key)
    return None if inner is None else tokenpose_base_key(inner)


# ----------------------------------------------------------------------------
# the command line
# ----------------------------------------------------------------------------
CONVERTERS = dict(simdr=convert_simdr, tokenpose=convert_tokenpose)


def build_parser() -> argparse.ArgumentParser:
    """The command line: the module docstring is its description, its
    examples the epilog."""
    parser = tool_parser(__doc__)
    parser.add_argument(
        '--model',
        required=True,
        choices=sorted(CONVERTERS),
        help="the authors' code base: simdr (leeyegy/SimCC pose_resnet, "
        'pose_resnet_upfree, pose_hrnet) or tokenpose (leeyegy/TokenPose)')
    parser.add_argument('src', help="the authors' checkpoint (.pth)")
    parser.add_argument('dst', help='where to write the converted checkpoint')
    parser.add_argument(
        '--config',
        help='check the result against the model of this simdr_ext config')
    return parser


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = build_parser()
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Convert, optionally check, write.

    Returns:
        int: 0, or 1 when a key is unmapped or the check fails (then
        nothing is written and the reason is printed to stderr).
    """
    args = parse_args(argv)
    try:
        if args.config and not osp.isfile(args.config):
            raise FileNotFoundError(f'config {args.config} does not exist')
        src = load_state_dict(args.src)
        dst, report = CONVERTERS[args.model](src, strict=False)
        if report.ok and args.config:
            report.check(dst, reference_state_dict(args.config),
                         osp.basename(args.config))
    except (FileNotFoundError, TypeError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    print(report.summary())
    if not report.ok:
        print(
            f'error: {report.unmapped_message()}; nothing written',
            file=sys.stderr)
        return 1
    if report.problems:
        print(
            f'error: does not match {osp.basename(args.config)} '
            f'({len(report.problems)} problems); nothing written',
            file=sys.stderr)
        return 1
    torch.save(
        dict(state_dict=dst, meta=dict(converted_from=osp.basename(args.src))),
        args.dst)
    print(f'wrote {args.dst}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
