#!/usr/bin/env bash
# Distributed training on one or more nodes:
#   bash tools/dist_train.sh CONFIG NUM_PROCESSES [train.py options]
# NUM_PROCESSES is per node; the environment (nodes, rendezvous) is
# dist_run.sh's.
set -e
exec bash "$(dirname "$0")/dist_run.sh" "$2" train.py "$1" \
    --launcher pytorch "${@:3}"
