#!/usr/bin/env bash
# Distributed training on one or more nodes:
#   bash tools/dist_train.sh CONFIG NUM_PROCESSES [train.py options]
# NUM_PROCESSES is per node. Env: NNODES (1), NODE_RANK (0), MASTER_ADDR
# (127.0.0.1), PORT (29500), PYTHON (python). With RDZV_ENDPOINT=HOST:PORT
# the nodes meet through torchrun's c10d rendezvous (RDZV_ID names the job)
# instead of the static NODE_RANK/MASTER_ADDR one.
set -e
CONFIG=$1
NPROC=$2
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
    "$(dirname "$0")/train.py" "$CONFIG" --launcher pytorch "${@:3}"
