#!/usr/bin/env bash
# README command 1: set up .venv if needed, train the quickstart config on the
# bundled COCO images, evaluate its checkpoint and print the COCO AP.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup_env.sh
exec .venv/bin/python tools/quickstart.py "$@"
