#!/usr/bin/env bash
# Creates (or checks) the project's virtual environment at .venv/.
#
# Idempotent: a stamp records a hash of the requirement files; when it matches
# and the stack imports, the script exits without calling pip at all.
# Every pip call gets the same constraints file so that no later install
# lifts numpy to 2.x or swaps torch for the local CPU-only build.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
venv="$root/.venv"
py="$venv/bin/python"
cons="$root/requirements/constraints.txt"
stamp="$venv/.simdr_ext-setup"
# the hash also covers which of the mim files exist (setup.py MIM_FILES): a
# new one (demo/, ...) must be linked into simdr_ext/.mim by a new install
mim_files() { for f in tools configs demo model-index.yml tests/data; do
    [ -e "$f" ] && echo "$f"; done; }
want="$( (cat requirements/*.txt setup.py tools/setup_env.sh; mim_files) \
    | sha256sum | cut -d' ' -f1)"

# run from / without PYTHONPATH, as another project would: simdr_ext and
# simdr_runtime import, this repository's tools/ and demo/ do not
check() {
    (cd / && env -u PYTHONPATH SIMDR_EXT_ROOT="$root" "$py" - <<'PY' >/dev/null 2>&1
import importlib.util, os
import mmcv.ops, mmdet, mmengine, mmpose, xtcocotools, pycocotools, mim
import onnxruntime, pytest, hypothesis
import simdr_ext, simdr_runtime
root = os.path.realpath(os.environ['SIMDR_EXT_ROOT']) + os.sep
for name in ('tools', 'demo'):
    spec = importlib.util.find_spec(name)
    assert spec is None or not os.path.realpath(
        spec.origin or '').startswith(root), name
PY
    )
}

if [ -x "$py" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && check; then
    echo "setup_env: .venv is up to date"
    exit 0
fi

[ -x "$py" ] || python3 -m venv "$venv"
pip=("$py" -m pip install --disable-pip-version-check -c "$cons")

echo "setup_env: build requirements (torch, torchvision, numpy<2, setuptools<81)"
"${pip[@]}" -r requirements/build.txt

if ! "$py" -c "import mmcv.ops" >/dev/null 2>&1; then
    echo "setup_env: mmcv 2.1.0 with CPU ops (compiled once, then served from pip's wheel cache)"
    MMCV_WITH_OPS=1 FORCE_CUDA="${FORCE_CUDA:-0}" MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
        "${pip[@]}" --no-build-isolation mmcv==2.1.0
fi

echo "setup_env: OpenMMLab stack and run-time requirements"
"${pip[@]}" -r requirements/runtime.txt mmengine mmdet
"${pip[@]}" --no-deps mmpose openmim
"${pip[@]}" -r requirements/tests.txt -r requirements/onnx.txt

echo "setup_env: simdr_ext (editable, legacy develop mode so that mim finds simdr_ext/.mim)"
# setup.py develop puts build/develop (links to the packages and the
# egg-info) on sys.path, not the repository root; an egg-info left in the
# root (by an older install or a wheel built here) would be taken for the
# installed distribution by pip, run from here
rm -rf simdr_ext.egg-info
"${pip[@]}" --no-deps --no-build-isolation --no-use-pep517 -e .
# an install made before build/develop named the repository root itself in
# easy-install.pth: that line goes
"$py" - "$root" <<'PY'
import os, site, sys
root = os.path.normpath(sys.argv[1])
for folder in site.getsitepackages():
    pth = os.path.join(folder, 'easy-install.pth')
    if os.path.isfile(pth):
        with open(pth) as f:
            lines = f.read().splitlines()
        kept = [line for line in lines
                if os.path.normpath(line.strip() or '.') != root]
        if kept != lines:
            with open(pth, 'w') as f:
                f.write('\n'.join(kept) + '\n')
PY

check || { echo "setup_env: the stack does not import; see the pip output above" >&2; exit 1; }
echo "$want" > "$stamp"
echo "setup_env: done"
