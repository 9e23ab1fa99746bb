#!/usr/bin/env bash
# Distributed testing on one or more nodes:
#   bash tools/dist_test.sh CONFIG CHECKPOINT NUM_PROCESSES [test.py options]
# NUM_PROCESSES is per node; the environment (nodes, rendezvous) is
# dist_run.sh's.
set -e
exec bash "$(dirname "$0")/dist_run.sh" "$3" test.py "$1" "$2" \
    --launcher pytorch "${@:4}"
