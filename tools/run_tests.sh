#!/usr/bin/env bash
# README command 2 (and CI): set up .venv if needed, then run the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup_env.sh
exec .venv/bin/python -m pytest tests "$@"
