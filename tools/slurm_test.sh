#!/usr/bin/env bash
# Testing on a slurm cluster, in mmpose's form:
#   [GPUS=16] bash tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT \
#       [test.py options]
# The environment (GPUS, GPUS_PER_NODE, ...) is slurm_run.sh's.
exec bash "$(dirname "$0")/slurm_run.sh" "$1" "$2" test.py "$3" "$4" \
    --launcher=slurm "${@:5}"
