# Copyright (c) simdr_ext contributors. All rights reserved.
"""Every tool's --help, built in-process from its build_parser(): a help
line for every argument, defaults shown, the whole description without
reStructuredText markup, and an example."""
import argparse
import importlib
import re
import subprocess

import pytest

TOOLS = {
    'tools.train': 'tools/train.py',
    'tools.test': 'tools/test.py',
    'tools.quickstart': 'tools/quickstart.py',
    'tools.analysis.benchmark_codecs': 'tools/analysis/benchmark_codecs.py',
    'tools.analysis.benchmark_inference':
    'tools/analysis/benchmark_inference.py',
    'tools.analysis.dark_decoding_table':
    'tools/analysis/dark_decoding_table.py',
    'tools.analysis.gemm_rate': 'tools/analysis/gemm_rate.py',
    'tools.analysis.model_table': 'tools/analysis/model_table.py',
    'tools.analysis.plot_curves': 'tools/analysis/plot_curves.py',
    'tools.analysis.precision_parity':
    'tools/analysis/precision_parity.py',
    'tools.analysis.representation_oracle':
    'tools/analysis/representation_oracle.py',
    'tools.deploy.int8_variants': 'tools/deploy/int8_variants.py',
    'tools.misc.generate_bbox_file': 'tools/misc/generate_bbox_file.py',
    'tools.misc.generate_model_zoo': 'tools/misc/generate_model_zoo.py',
    'tools.model_converters.convert_authors_checkpoint':
    'tools/model_converters/convert_authors_checkpoint.py',
    'demo.topdown_demo': 'demo/topdown_demo.py',
}
RST = re.compile(r'``|:(func|class|data|meth|mod|attr):`|::$|\*\*\w', re.M)


def test_every_tool_is_walked(repo_root):
    """A new script under tools/ (but the export, held to this by
    tests/test_deploy/test_export_onnx_cli.py) joins the walk."""
    import glob
    import os.path as osp
    found = {
        osp.relpath(p, repo_root)
        for p in glob.glob(osp.join(repo_root, 'tools', '**', '*.py'),
                           recursive=True)
        if not p.endswith('__init__.py')
    }
    others = {'tools/deploy/export_onnx.py'}
    assert found - others == set(TOOLS.values()) - {'demo/topdown_demo.py'}


@pytest.mark.parametrize('module', sorted(TOOLS))
def test_help_is_complete(module):
    parser = importlib.import_module(module).build_parser()
    assert issubclass(parser.formatter_class,
                      argparse.ArgumentDefaultsHelpFormatter)
    assert issubclass(parser.formatter_class,
                      argparse.RawDescriptionHelpFormatter)
    text = parser.format_help()
    for action in parser._actions:
        name = '/'.join(action.option_strings) or action.dest
        assert action.help, f'{module}: {name} has no help'
        shows = action.default is not None and action.default is not False \
            and action.default != argparse.SUPPRESS
        if shows:
            assert '(default: ' in parser.formatter_class(
                parser.prog)._get_help_string(action), (module, name)
    assert ' '.join(text.split()).count('(default: ') >= sum(
        a.default not in (None, False, argparse.SUPPRESS) and bool(
            a.option_strings) for a in parser._actions)
    # the whole description: more than its first line
    assert len(parser.description.strip().splitlines()) > 2, module
    first = parser.description.strip().splitlines()[1:]
    assert any(line.strip() and line.strip()[:30] in text
               for line in first), module
    assert not RST.search(text), (module, RST.search(text).group(0))
    epilog = text[text.index('\nexamples:\n'):]
    assert TOOLS[module].rsplit('/', 1)[-1][:-3] in epilog, module
    assert len(epilog.strip().splitlines()) >= 2, module


@pytest.mark.slow
def test_help_runs_from_another_folder(python, repo_root, tmp_path):
    """--help of a tool and the demo, run by path from another folder."""
    import os.path as osp
    for rel in ('tools/analysis/model_table.py', 'demo/topdown_demo.py',
                'tools/analysis/representation_oracle.py'):
        proc = subprocess.run([python, osp.join(repo_root, rel), '--help'],
                              cwd=tmp_path,
                              capture_output=True,
                              text=True,
                              timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert 'examples:' in proc.stdout
