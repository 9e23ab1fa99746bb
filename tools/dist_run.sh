#!/usr/bin/env bash
# Start NUM_PROCESSES processes of a tool per node with torchrun (what
# dist_train.sh and dist_test.sh run):
#   bash tools/dist_run.sh NUM_PROCESSES TOOL [tool arguments]
# TOOL is a script beside this one (train.py, test.py). Env: NNODES (1),
# NODE_RANK (0), MASTER_ADDR (127.0.0.1), PORT (29500), PYTHON (python).
# With RDZV_ENDPOINT=HOST:PORT the nodes meet through torchrun's c10d
# rendezvous (RDZV_ID names the job) instead of the static
# NODE_RANK/MASTER_ADDR one.
set -e
NPROC=$1
TOOL=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
PYTHON=${PYTHON:-python}

if [ -n "${RDZV_ENDPOINT:-}" ]; then
    RDZV=(--rdzv-backend=c10d --rdzv-endpoint="$RDZV_ENDPOINT"
          --rdzv-id="${RDZV_ID:-simdr_ext}")
else
    RDZV=(--node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR"
          --master_port="$PORT")
fi

"$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" --nproc_per_node="$NPROC" "${RDZV[@]}" \
    "$(dirname "$0")/$TOOL" "${@:3}"
