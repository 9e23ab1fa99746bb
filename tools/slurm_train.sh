#!/usr/bin/env bash
# Training on a slurm cluster, in mmpose's form:
#   [GPUS=16] bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR \
#       [train.py options]
# The environment (GPUS, GPUS_PER_NODE, ...) is slurm_run.sh's.
exec bash "$(dirname "$0")/slurm_run.sh" "$1" "$2" train.py "$3" \
    --work-dir="$4" --launcher=slurm "${@:5}"
