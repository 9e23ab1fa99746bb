# Copyright (c) simdr_ext contributors. All rights reserved.
"""What mim search prints for simdr_ext's model index: the paper's
numbers as their own columns, and which entries have no weights."""
import math
import numbers

import pytest


def cell(info: dict, key: str):
    """A cell of mim's table; ``None`` where the entry has no such key
    (pandas fills NaN)."""
    value = info.get(key)
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


@pytest.fixture(scope='module')
def index():
    from mim.commands.search import get_model_info
    return get_model_info('simdr_ext', to_dict=True)


def test_paper_numbers_print_as_numbers(index):
    from tools.analysis.model_table import PAPER
    assert set(PAPER) <= set(index)
    for name, row in PAPER.items():
        info = index[name]
        # mim's own table: no dict in any column (it would print truncated)
        assert not any(isinstance(v, dict) for v in info.values()), name
        assert info['paper_source'] == row.source.lower()
        for key, value in (('paper_params(M)', row.params_m),
                           ('paper_gflops', row.gflops)):
            if value is not None:
                assert isinstance(info[key], numbers.Number)
                assert info[key] == value, (name, key)
        metric = cell(info, 'paper_ap') or cell(info, 'paper_pckh@0.5')
        assert metric == row.metric, name


def test_entries_without_weights_say_so(index):
    empty = [n for n, info in index.items() if not info['weight']]
    assert len(empty) == len(index) - 3
    for name in empty:
        assert index[name]['checkpoint'] == (
            'none released (mim download writes the config only)')
    for name, info in index.items():
        if info['weight']:
            assert info['weight'].startswith('https://'), name
            assert cell(info, 'checkpoint') is None, name
