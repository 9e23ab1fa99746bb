# Copyright (c) simdr_ext contributors. All rights reserved.
"""#Params and GFLOPs of simdr_ext's configs beside the SimDR paper's.

Example::

    python tools/analysis/model_table.py                  # every config
    python tools/analysis/model_table.py configs/simdr/coco --out table.md

Prints a markdown table with the paper's value for each row and the ratio;
the text under the table says what is counted. Exits 1 when a row with a
paper #Params misses it by more than :data:`PARAMS_TOLERANCE` or a config
cannot be measured, else 0.

Each config in ``configs/`` is built on CPU with its backbone's
``init_cfg`` and ``load_from`` dropped (nothing is downloaded) and fed one
``(1, 3, h, w)`` image of its codec's ``input_size``. Counted:

- **#Params**: every learned parameter of the model (backbone + head), as
  the authors' ``tools/train.py`` logs ``sum(p.numel())``. Buffers (BatchNorm
  running statistics) and TokenPose's fixed sine encoding are not counted.
- **GMACs**: multiply-adds of convolutions (incl. transposed) and linear
  layers only, from mmengine's ``FlopAnalyzer`` (``by_operator``; one
  multiply-add = one FLOP, as fvcore/mmengine count), in units of 1e9.
  BatchNorm, ReLU, pooling and upsampling are left out.
- **GFLOPs (authors)**: the count the SimDR paper reports (README: "GFLOPs
  is for convolution and linear layers only", computed by the HRNet code
  base's ``get_model_summary``): per conv or transposed conv, the weight's
  element count times the output's ``H x W``; per linear layer, its
  multiply-adds; the sum divided by ``1024 ** 3``. For a transposed conv
  of stride 2 the output has 4x the input's pixels, so this counts the
  SimpleBaseline deconvolutions 4x their multiply-adds: that is why the
  paper's SimBa-Res50 has 8.9 GFLOPs where ResNet-50 + deconvolutions is
  5.4 GMACs (measured by this table).

Paper values (:data:`PAPER`) are keyed by config name, each with its
source: a table row of the SimDR paper (arXiv 2107.03332) or a figure of
the authors' README (leeyegy/SimCC, formerly leeyegy/SimDR; DarkPose's
README for DARK APs). A value is given only where the source
gives it for the same network; DARK and the mmpose-architecture configs
take the #Params/GFLOPs of the paper row whose network is identical (the
source says so).
"""
import argparse
import glob
import os.path as osp
import sys
import time
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.analysis import FlopAnalyzer
from mmengine.config import Config
from mmengine.registry import init_default_scope
from torch import nn

import simdr_ext  # noqa: F401  (registers the heads and codecs)
from simdr_ext.utils.cli import tool_parser

#: the repository (or, installed, ``simdr_ext/.mim``): configs/ and
#: model-index.yml
REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

#: ops of ``FlopAnalyzer.by_operator()`` that are convolutions or linear
#: layers (nn.Linear traces to ``linear``, or ``addmm``/``matmul``)
CONV_LINEAR_OPS = ('conv', 'linear', 'addmm', 'matmul')
#: the #Params goal in millions: the paper prints 0.1 M, so ours must round
#: to it
PARAMS_TOLERANCE = 0.05


@dataclass(frozen=True)
class PaperRow:
    """Numbers a source gives for one config's row.

    Args:
        source (str): Where the numbers come from (table and row).
        params_m (float, optional): #Params in millions. Defaults to None.
        gflops (float, optional): GFLOPs as the authors count. Defaults to
            None.
        metric (float, optional): The accuracy reported for the row (COCO /
            CrowdPose AP or MPII PCKh@0.5, in percent). Defaults to None.
    """

    source: str
    params_m: Optional[float] = None
    gflops: Optional[float] = None
    metric: Optional[float] = None


def paper_rows(repo: str) -> Dict[str, PaperRow]:
    """The paper's numbers of every config, read from the metafiles that
    ``model-index.yml`` imports (the ``Metadata`` keys ``Paper source``,
    ``Paper Params (M)``, ``Paper GFLOPs`` and ``Paper AP`` or
    ``Paper PCKh@0.5``; flat, so that mim search prints them): their one
    home.

    Args:
        repo (str): The repository root (where ``model-index.yml`` is).

    Returns:
        dict: Config name -> :class:`PaperRow`.
    """
    import yaml
    with open(osp.join(repo, 'model-index.yml')) as f:
        index = yaml.safe_load(f)
    rows = {}
    for rel in index['Import']:
        with open(osp.join(repo, rel)) as f:
            models = yaml.safe_load(f)['Models']
        for model in models:
            paper = {
                key[len('Paper '):]: value
                for key, value in model.get('Metadata', {}).items()
                if key.startswith('Paper ')
            }
            if not paper:
                continue
            metric = next((paper[k] for k in ('AP', 'PCKh@0.5') if k in paper),
                          None)
            rows[model['Name']] = PaperRow(paper['source'],
                                           paper.get('Params (M)'),
                                           paper.get('GFLOPs'), metric)
    return rows


PAPER: Dict[str, PaperRow] = paper_rows(REPO)


@dataclass
class ModelRow:
    """What :func:`measure` finds for one config.

    Args:
        name (str): Config name (file name without ``.py``).
        input_size (tuple): Input ``(w, h)`` of the codec.
        params (int): Parameter count.
        gmacs (float): Conv + linear multiply-adds, 1e9.
        gflops_authors (float): The authors' GFLOPs count (see module
            docstring).
        paper (PaperRow, optional): The paper's row, if any.
        error (str, optional): Why the config could not be measured (the
            counts are then None). Defaults to None.
    """

    name: str
    input_size: Optional[Tuple[int, int]]
    params: Optional[int]
    gmacs: Optional[float]
    gflops_authors: Optional[float]
    paper: Optional[PaperRow]
    error: Optional[str] = None

    @property
    def params_ratio(self) -> Optional[float]:
        """Our #Params / the paper's, or None without a paper value."""
        if (self.paper is None or self.paper.params_m is None
                or self.params is None):
            return None
        return self.params / 1e6 / self.paper.params_m

    @property
    def misses_goal(self) -> bool:
        """True when a paper #Params exists and ours is off by more than
        :data:`PARAMS_TOLERANCE`."""
        ratio = self.params_ratio
        return ratio is not None and abs(
            self.params / 1e6 - self.paper.params_m) > PARAMS_TOLERANCE

    @property
    def gflops_ratio(self) -> Optional[float]:
        """Our authors'-convention GFLOPs / the paper's, or None."""
        if (self.paper is None or self.paper.gflops is None
                or self.gflops_authors is None):
            return None
        return self.gflops_authors / self.paper.gflops


def find_configs(config_root: str) -> List[str]:
    """Every ``*.py`` under ``config_root`` (recursively), sorted, except
    inside ``_base_`` folders (fragments that other configs inherit).

    Args:
        config_root (str): The ``configs/`` folder.

    Returns:
        List[str]: Config paths.
    """
    paths = glob.glob(osp.join(config_root, '**', '*.py'), recursive=True)
    return sorted(
        p for p in paths
        if '_base_' not in osp.relpath(p, config_root).split(osp.sep))


def config_name(path: str) -> str:
    """Config name: its file name without ``.py``."""
    return osp.splitext(osp.basename(path))[0]


def load_config(path: str) -> Config:
    """Load a config with nothing to download: no backbone ``init_cfg``, no
    ``load_from``.

    Args:
        path (str): Config file.

    Returns:
        Config: The config, its ``custom_imports`` imported.
    """
    cfg = Config.fromfile(path)
    cfg.model.backbone.init_cfg = None
    cfg.load_from = None
    return cfg


def build_model(cfg: Config) -> nn.Module:
    """Build ``cfg.model`` in mmpose's scope, in eval mode on CPU.

    Args:
        cfg (Config): A config from :func:`load_config`.

    Returns:
        nn.Module: The pose estimator.
    """
    from mmpose.registry import MODELS
    init_default_scope(cfg.get('default_scope', 'mmpose'))
    return MODELS.build(cfg.model).eval()


class TensorForward(nn.Module):
    """``model(image)`` of a pose estimator: backbone + head, no data
    samples (mmengine's ``mode='tensor'``), so it can be traced.

    Args:
        model (nn.Module): A ``TopdownPoseEstimator``.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor):
        return self.model(image, None, mode='tensor')


def count_ops(model: nn.Module, image: torch.Tensor) -> Tuple[float, float]:
    """Both operation counts of the module docstring.

    Args:
        model (nn.Module): A model called (and traced) as ``model(image)``,
            e.g. a :class:`TensorForward`.
        image (Tensor): One image, shape (1, 3, h, w).

    Returns:
        tuple: GMACs of the ops in :data:`CONV_LINEAR_OPS` from mmengine's
        ``FlopAnalyzer`` (/ 1e9), and the authors' GFLOPs: conv (weight
        elements x output H x W) plus linear multiply-adds, divided by
        ``1024 ** 3``.
    """
    analyzer = FlopAnalyzer(model, (image, ))
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    by_op = analyzer.by_operator()
    gmacs = sum(by_op.get(op, 0) for op in CONV_LINEAR_OPS) / 1e9

    total = [0]

    def conv_hook(module, inputs, output):
        total[0] += module.weight.numel() * output.shape[2:].numel()

    def linear_hook(module, inputs, output):
        total[0] += module.in_features * output.numel()

    handles = []
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            handles.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            handles.append(m.register_forward_hook(linear_hook))
    try:
        with torch.no_grad():
            model(image)
    finally:
        for h in handles:
            h.remove()
    return gmacs, total[0] / 1024**3


def measure(path: str) -> ModelRow:
    """Build one config and count its parameters and operations.

    Args:
        path (str): Config file.

    Returns:
        ModelRow: The counts and the paper's row (if any).
    """
    cfg = load_config(path)
    model = TensorForward(build_model(cfg))
    w, h = cfg.codec['input_size']
    image = torch.zeros(1, 3, h, w)
    name = config_name(path)
    gmacs, gflops_authors = count_ops(model, image)
    return ModelRow(
        name=name,
        input_size=(w, h),
        params=sum(p.numel() for p in model.parameters() if p.requires_grad),
        gmacs=gmacs,
        gflops_authors=gflops_authors,
        paper=PAPER.get(name))


def _fmt(value: Optional[float], spec: str) -> str:
    return '—' if value is None else format(value, spec)


COUNTED = (
    '#Params: all model parameters (backbone + head; no buffers), as the '
    "authors' train.py logs them. GMACs: multiply-adds of conv, transposed "
    "conv and linear layers only, from mmengine's FlopAnalyzer, / 1e9. "
    "GFLOPs (authors): conv and linear layers only, as the SimDR authors "
    "count (HRNet code base's get_model_summary): conv weight elements x "
    'output H x W (so a stride-2 transposed conv counts 4x its '
    'multiply-adds) plus linear multiply-adds, / 1024^3. Batch 1, input '
    "size from the config's codec. Paper values: SimDR paper tables or "
    'the authors\' README figures (source column); ratio = '
    f'ours / paper; goal: #Params within {PARAMS_TOLERANCE} M.')


def markdown_table(rows: Sequence[ModelRow]) -> str:
    """The rows as a markdown table, with a note on what is counted.

    Args:
        rows (Sequence[ModelRow]): Rows from :func:`measure`.

    Returns:
        str: Markdown text.
    """
    lines = [
        '| config | input (h x w) | #Params (M) | paper #Params (M) | ratio '
        '| GMACs (conv+linear) | GFLOPs (authors) | paper GFLOPs | ratio '
        '| source |',
        '|---|---|---:|---:|---:|---:|---:|---:|---:|---|',
    ]
    for r in rows:
        paper = r.paper or PaperRow(source='—')
        if r.error is not None:
            params, gflops = (_fmt(paper.params_m, '.1f'),
                              _fmt(paper.gflops, '.1f'))
            lines.append(f'| {r.name} | — | — | {params} | — | — | — | '
                         f'{gflops} | — | not measured: {r.error} |')
            continue
        lines.append(f'| {r.name} | {r.input_size[1]}x{r.input_size[0]} '
                     f'| {r.params / 1e6:.2f} | {_fmt(paper.params_m, ".1f")} '
                     f'| {_fmt(r.params_ratio, ".3f")} | {r.gmacs:.2f} '
                     f'| {r.gflops_authors:.2f} | {_fmt(paper.gflops, ".1f")} '
                     f'| {_fmt(r.gflops_ratio, ".3f")} | {paper.source} |')
    misses = [r.name for r in rows if r.misses_goal]
    with_paper = sum(r.params_ratio is not None for r in rows)
    errors = [r.name for r in rows if r.error is not None]
    lines += [
        '', f'What is counted: {COUNTED}', '',
        f'{with_paper - len(misses)} of {with_paper} rows with a paper '
        f'#Params are within {PARAMS_TOLERANCE} M' +
        (f'; outside: {", ".join(misses)}' if misses else '.')
    ]
    if errors:
        lines.append(f'Not measured (build or forward failed): '
                     f'{", ".join(errors)}.')
    return '\n'.join(lines) + '\n'


def model_table(paths: Sequence[str],
                progress: Optional[Callable[[str], None]] = None
                ) -> Tuple[List[ModelRow], str]:
    """Measure configs and format them. A config that fails to build or run
    gets a row that says why, instead of stopping the table.

    Args:
        paths (Sequence[str]): Config files.
        progress (callable, optional): Called with one line per config
            before it is measured (``[i/n] name``, with the seconds so far).
            Defaults to silence.

    Returns:
        tuple: the rows and the markdown table.
    """
    rows = []
    start = time.perf_counter()
    for index, path in enumerate(paths):
        if progress is not None:
            progress(f'[{index + 1}/{len(paths)}] {config_name(path)} '
                     f'({time.perf_counter() - start:.0f} s so far)')
        try:
            rows.append(measure(path))
        except Exception as err:  # one broken config must not hide the rest
            message = f'{type(err).__name__}: {err}'.splitlines()[0][:120]
            rows.append(
                ModelRow(
                    name=config_name(path),
                    input_size=None,
                    params=None,
                    gmacs=None,
                    gflops_authors=None,
                    paper=PAPER.get(config_name(path)),
                    error=message))
    return rows, markdown_table(rows)


def build_parser() -> argparse.ArgumentParser:
    """The command line: the module docstring is its description, its
    examples the epilog."""
    parser = tool_parser(__doc__)
    parser.add_argument(
        'paths',
        nargs='*',
        default=None,
        help='config files or folders (without it: simdr_ext\'s configs/, '
        'beside this tool)')
    parser.add_argument('--out', help='also write the table to this file')
    parser.add_argument(
        '--threads',
        type=int,
        default=1,
        help='torch intra-op threads (0: leave as is). The counts do not '
        'depend on it; 1 avoids OpenMP oversubscription on shared machines')
    return parser


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = build_parser()
    return parser.parse_args(argv)


def collect(paths: Sequence[str]) -> List[str]:
    """Config files named by ``paths`` (folders are searched)."""
    files = []
    for path in paths:
        files += find_configs(path) if osp.isdir(path) else [path]
    return files


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    paths = args.paths or [osp.join(REPO, 'configs')]
    files = collect(paths)
    if not files:
        print(f'no config found in {paths}', file=sys.stderr)
        return 2
    print(f'measuring {len(files)} configs (progress on stderr, the table '
          'on stdout at the end)', file=sys.stderr)
    rows, text = model_table(
        files, progress=lambda line: print(line, file=sys.stderr, flush=True))
    print(text, end='')
    if args.out:
        with open(args.out, 'w') as f:
            f.write(text)
    failed = any(r.misses_goal or r.error is not None for r in rows)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
