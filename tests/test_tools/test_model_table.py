# Copyright (c) simdr_ext contributors. All rights reserved.
"""The #Params / GFLOPs table against the SimDR paper's numbers."""
import os.path as osp

import pytest

from tools.analysis.model_table import (PAPER, PARAMS_TOLERANCE, find_configs,
                                        main, markdown_table, measure,
                                        model_table)

SIMBA_SIMDR = 'simdr/coco/simdr_res50_4xb32-140e_coco-256x192.py'
SIMBA_HEATMAP = 'heatmap/coco/heatmap_res50_4xb32-140e_coco-256x192.py'
QUICKSTART = 'quickstart/simdr_res18_1xb12-300e_coco-mini-128x96.py'

# torchvision's ResNet-50 without its fc layer (mmpose's ResNet has none):
# 25,557,032 - (2048 * 1000 + 1000)
RESNET50 = 25_557_032 - 2_049_000


def linear(i, o):
    return i * o + o


def batchnorm(c):
    return 2 * c


@pytest.fixture(scope='module')
def rows(repo_root):
    paths = [
        osp.join(repo_root, 'configs', p)
        for p in (SIMBA_SIMDR, SIMBA_HEATMAP, QUICKSTART)
    ]
    return {r.name: r for r in model_table(paths)[0]}


def test_simba_res50_simdr_256x192_params_as_the_paper(rows):
    """SimDR Table 2: SimBa-Res50 SimDR 256x192 has 36.8M parameters.

    What the config counts: ResNet-50 (no fc), three 4x4 deconvolutions
    without bias, each with BatchNorm, a 1x1 conv to 17 maps of 64 x 48,
    and the two classifiers Linear(3072, 384) and Linear(3072, 512).
    """
    deconvs = (2048 * 256 * 16 + batchnorm(256) + 2 *
               (256 * 256 * 16 + batchnorm(256)))
    final = 256 * 17 + 17
    classifiers = linear(64 * 48, 192 * 2) + linear(64 * 48, 256 * 2)
    expected = RESNET50 + deconvs + final + classifiers
    row = rows['simdr_res50_4xb32-140e_coco-256x192']
    assert row.params == expected
    assert row.paper.params_m == 36.8
    assert abs(row.params / 1e6 - 36.8) <= PARAMS_TOLERANCE
    # and the heatmap network is the same without the classifiers (34.0M)
    heatmap = rows['heatmap_res50_4xb32-140e_coco-256x192']
    assert heatmap.params == expected - classifiers
    assert abs(heatmap.params / 1e6 - 34.0) <= PARAMS_TOLERANCE


def test_gflops_count_deconvolutions_as_the_authors(rows):
    """The paper's 8.9 GFLOPs for SimBa-Res50 256x192 count each transposed
    conv as weight elements x output pixels, / 1024^3; plain multiply-adds
    would give about 5.4 G."""
    heatmap = rows['heatmap_res50_4xb32-140e_coco-256x192']
    deconv_authors = (2048 * 256 * 16 * 16 * 12 + 256 * 256 * 16 * 32 * 24 +
                      256 * 256 * 16 * 64 * 48)
    deconv_macs = deconv_authors // 4  # each doubles H and W
    # plain convolutions and linear layers count alike in both: the whole
    # difference is the deconvolutions' (float rounding only)
    assert heatmap.gflops_authors - heatmap.gmacs * 1e9 / 1024**3 == \
        pytest.approx((deconv_authors - deconv_macs) / 1024**3, rel=1e-9)
    assert abs(heatmap.gflops_ratio - 1) < 0.02
    simdr = rows['simdr_res50_4xb32-140e_coco-256x192']
    assert abs(simdr.gflops_ratio - 1) < 0.02


def test_markdown_table_says_what_is_counted(rows):
    text = markdown_table(list(rows.values()))
    lines = text.splitlines()
    assert lines[0].startswith('| config | input (h x w) | #Params (M) |')
    quick = [ln for ln in lines if ln.startswith('| simdr_res18')][0]
    # the quickstart has no paper value
    assert quick.count('—') >= 4
    assert 'conv' in text and 'linear' in text and '1024^3' in text
    assert '2 of 2 rows with a paper #Params are within 0.05 M' in text


def test_paper_values_are_keyed_by_existing_configs(repo_root):
    names = {
        osp.basename(p)[:-3]
        for p in find_configs(osp.join(repo_root, 'configs'))
    }
    stale = sorted(set(PAPER) - names)
    assert not stale, f'paper values for configs that do not exist: {stale}'
    for name, row in PAPER.items():
        assert row.source, name
        assert any(
            v is not None
            for v in (row.params_m, row.gflops, row.metric)), name


def test_base_fragments_are_not_configs(tmp_path):
    (tmp_path / '_base_').mkdir()
    (tmp_path / '_base_' / 'runtime.py').write_text('x = 1\n')
    (tmp_path / 'a').mkdir()
    (tmp_path / 'a' / 'b.py').write_text('x = 1\n')
    assert find_configs(str(tmp_path)) == [str(tmp_path / 'a' / 'b.py')]


def test_a_broken_config_gets_a_row_not_a_crash(tmp_path, repo_root):
    broken = tmp_path / 'simdr_broken_1xb1-1e_coco-64x64.py'
    broken.write_text("model = dict(type='TopdownPoseEstimator', "
                      "backbone=dict(type='NoSuchBackbone'), head=None)\n"
                      "codec = dict(input_size=(64, 64))\n")
    rows, text = model_table([str(broken)])
    assert rows[0].error and 'NoSuchBackbone' in rows[0].error
    assert 'not measured' in text
    with pytest.raises(KeyError):
        measure(str(broken))


def test_cli_prints_and_writes_the_table(tmp_path, repo_root, capsys):
    out = tmp_path / 'table.md'
    code = main(
        [osp.join(repo_root, 'configs', QUICKSTART), '--out',
         str(out)])
    printed = capsys.readouterr().out
    assert code == 0
    assert 'simdr_res18_1xb12-300e_coco-mini-128x96' in printed
    assert out.read_text() == printed


def test_progress_names_each_config(quickstart_config):
    """A line per config before it is measured (the whole table takes
    minutes; the tool prints these to stderr)."""
    from tools.analysis.model_table import model_table
    lines = []
    rows, _ = model_table([quickstart_config], progress=lines.append)
    assert len(rows) == 1 and rows[0].error is None
    assert len(lines) == 1
    assert lines[0].startswith(
        '[1/1] simdr_res18_1xb12-300e_coco-mini-128x96 (')
