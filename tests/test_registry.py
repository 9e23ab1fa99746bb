# Copyright (c) simdr_ext contributors. All rights reserved.
"""Every simdr_ext module is registered, and none shadows an mmpose one."""
import importlib
import inspect
import pkgutil

import pytest

import simdr_ext
from mmengine.registry import MODEL_WRAPPERS

from mmpose.registry import DATASETS, KEYPOINT_CODECS, MODELS

EXPECTED = {
    KEYPOINT_CODECS: ['SimDRLabel', 'SASimDRLabel', 'DarkHeatmap'],
    MODELS: [
        'SimDRHead', 'SoftLabelCELoss', 'SimDRKLLoss', 'NMTNormLoss',
        'NMTLoss', 'TokenPose', 'TokenPoseHeatmapHead'
    ],
    DATASETS: [
        'CheckedCocoDataset', 'CheckedCrowdPoseDataset', 'CheckedMpiiDataset'
    ],
    MODEL_WRAPPERS: ['CPUDistributedDataParallel'],
}


@pytest.mark.parametrize(
    'registry,name', [(r, n) for r, names in EXPECTED.items() for n in names],
    ids=lambda v: v if isinstance(v, str) else v.name)
def test_registered_after_import(registry, name):
    module = registry.module_dict.get(name)
    assert module is not None, f'{name} missing from {registry.name}'
    assert module.__module__.startswith('simdr_ext.')


def registered_simdr_ext_classes():
    for info in pkgutil.walk_packages(simdr_ext.__path__, 'simdr_ext.'):
        module = importlib.import_module(info.name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if obj.__module__ == info.name:
                yield obj


def test_every_registered_class_is_expected_and_no_clash():
    expected = {n for names in EXPECTED.values() for n in names}
    found = set()
    for registry in EXPECTED:
        for name, cls in registry.module_dict.items():
            if cls.__module__.startswith('simdr_ext.'):
                found.add(name)
    assert found == expected
    # a name registered by simdr_ext is registered once, by simdr_ext: had
    # mmpose registered it first, the registry would have raised KeyError
    own = {c.__name__ for c in registered_simdr_ext_classes()}
    assert expected <= own
