#!/usr/bin/env bash
# Run a tool on a slurm cluster, one task per process (what slurm_train.sh
# and slurm_test.sh run, in mmpose's form):
#   bash tools/slurm_run.sh PARTITION JOB_NAME TOOL [tool arguments]
# TOOL is a script beside this one (train.py, test.py), which its
# arguments must start with --launcher slurm. Env: GPUS (8,
# processes in all), GPUS_PER_NODE (8), CPUS_PER_TASK (5), SRUN_ARGS (more
# srun options), PYTHON (python).
set -x
PARTITION=$1
JOB_NAME=$2
TOOL=$3
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
PYTHON=${PYTHON:-python}

srun -p "${PARTITION}" \
    --job-name="${JOB_NAME}" \
    --gres=gpu:"${GPUS_PER_NODE}" \
    --ntasks="${GPUS}" \
    --ntasks-per-node="${GPUS_PER_NODE}" \
    --cpus-per-task="${CPUS_PER_TASK}" \
    --kill-on-bad-exit=1 \
    ${SRUN_ARGS} \
    "$PYTHON" -u "$(dirname "$0")/${TOOL}" "${@:4}"
