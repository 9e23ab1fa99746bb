# Copyright (c) simdr_ext contributors. All rights reserved.
"""Pieces shared by the train and test entry points."""
import argparse
import os
import os.path as osp
from typing import Optional

from mmengine.config import Config, DictAction


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Arguments that ``tools/train.py`` and ``tools/test.py`` share."""
    parser.add_argument('--work-dir', help='where logs and checkpoints go')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries, key=value (e.g. '
        'train_cfg.max_epochs=10 or model.test_cfg.flip_test=False)')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torch.distributed launchers pass --local-rank (torch >= 2) or
    # --local_rank (older); both are accepted.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def load_config(path: str, args: argparse.Namespace) -> Config:
    """Read a config and apply the shared CLI arguments.

    The work directory is, in this order: ``--work-dir``, ``work_dir`` in the
    config, ``./work_dirs/<config name>``.

    Args:
        path (str): Config file.
        args (argparse.Namespace): Parsed arguments of
            :func:`add_common_args`.

    Returns:
        Config: The config.
    """
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    cfg = Config.fromfile(path)
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(path))[0])
    return cfg


CODEC_GEOMETRY = ('type', 'input_size', 'heatmap_size', 'split_ratio',
                  'simcc_split_ratio')


def _generate_target_encoders(pipeline) -> list:
    return [t.get('encoder') for t in pipeline or []
            if isinstance(t, dict) and t.get('type') == 'GenerateTarget']


def check_codec_consistency(cfg: Config) -> None:
    """Raise ``ValueError`` when the training targets and the head's decoder
    describe different geometries (type, input/heatmap size, k).

    A config that changes ``codec`` in one place but not the other would
    otherwise train on one grid and decode on another, or fail with a shape
    error inside the loss.

    Args:
        cfg (Config): A full config with ``model.head.decoder`` and a train
            pipeline containing ``GenerateTarget``.
    """
    decoder = cfg.get('model', {}).get('head', {}).get('decoder')
    loader = cfg.get('train_dataloader') or {}
    pipeline = loader.get('dataset', {}).get('pipeline')
    if not decoder:
        return
    for encoder in _generate_target_encoders(pipeline):
        if not isinstance(encoder, dict):
            continue
        for key in CODEC_GEOMETRY:
            if key in encoder and key in decoder and \
                    _normalise(encoder[key]) != _normalise(decoder[key]):
                raise ValueError(
                    f'the training targets use {key}={encoder[key]!r} but '
                    f'model.head.decoder has {key}={decoder[key]!r}: bind '
                    'both to one codec dict')


def _normalise(value):
    return tuple(value) if isinstance(value, (list, tuple)) else value


def apply_cfg_options(cfg: Config, options: Optional[dict]) -> Config:
    """Merge ``--cfg-options`` last, so they win over every other flag."""
    if options:
        cfg.merge_from_dict(options)
    return cfg


def enable_visualization(cfg: Config, show_dir: Optional[str],
                         interval: int = 1) -> None:
    """Turn on mmpose's ``PoseVisualizationHook`` writing to ``show_dir``."""
    if show_dir is None:
        return
    hooks = cfg.default_hooks
    if 'visualization' not in hooks:
        raise ValueError('--show-dir needs visualization=dict(type='
                         '"PoseVisualizationHook") in default_hooks')
    hooks.visualization.update(
        enable=True, out_dir=show_dir, interval=interval)
