# Copyright (c) simdr_ext contributors. All rights reserved.
"""Rename the SimDR authors' checkpoints to simdr_ext's (mmpose's) keys.

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
keys; ``tools/train.py``). Any other key is unmapped: :func:`convert`
raises :class:`~simdr_ext.utils.checkpoint_conversion.UnmappedKeysError`
(or, with ``strict=False``, lists it in the report and leaves it out).
The key layouts the converter is tested on are written down in
``tests/data/author_layouts/``.
"""
from collections import OrderedDict
from dataclasses import dataclass
from typing import List, Mapping, Optional, Tuple

from torch import Tensor

# one report, key check and prefix rule serve both converters
from .checkpoint_conversion import check_against  # noqa: F401
from .checkpoint_conversion import (ConversionReport, UnmappedKeysError,
                                    check_source, strip_data_parallel)

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
    """What :func:`convert` did (:class:`ConversionReport` plus the layout).

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


def map_key(key: str, head: str, deconv: bool) -> Optional[str]:
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


def convert(
    src_state_dict: Mapping[str, Tensor],
    strict: bool = True
) -> Tuple['OrderedDict[str, Tensor]', SimDRConversionReport]:
    """Convert an authors' state dict to simdr_ext's keys.

    Args:
        src_state_dict (Mapping[str, Tensor]): The authors' model state
            dict (``final_state.pth``, or the ``state_dict`` entry of a
            training checkpoint), optionally with ``module.`` keys.
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
        TypeError: ``src_state_dict`` is not a mapping of str to tensors.
    """
    check_source(src_state_dict)
    keys = list(src_state_dict)
    prefix = strip_data_parallel(keys)
    bare = [k[len(prefix):] for k in keys]
    backbone, head, deconv = detect_layout(bare)
    report = SimDRConversionReport(
        backbone=backbone, head=head, deconv=deconv, stripped_prefix=prefix)
    dst: 'OrderedDict[str, Tensor]' = OrderedDict()
    for key, name in zip(keys, bare):
        new = map_key(name, head, deconv)
        if new is None:
            report.unmapped.append(key)
            continue
        dst[new] = src_state_dict[key]
        report.mapped[key] = new
    if strict and not report.ok:
        raise UnmappedKeysError(report)
    return dst, report
