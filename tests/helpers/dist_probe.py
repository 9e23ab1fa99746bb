# Copyright (c) simdr_ext contributors. All rights reserved.
"""A hook for tests: records what each rank trained on and its weights."""
import json
import os.path as osp

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS


@HOOKS.register_module()
class RecordRankHook(Hook):
    """Writes ``rank{r}.json`` (instance ids seen) and ``rank{r}.pth`` (the
    parameters) and ``rank{r}_buffers.pth`` (BN running statistics)."""

    def __init__(self) -> None:
        self.seen = []

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        self.seen += [int(s.id) for s in data_batch['data_samples']]

    def after_train(self, runner) -> None:
        rank = get_rank()
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        with open(osp.join(runner.work_dir, f'rank{rank}.json'), 'w') as f:
            json.dump(self.seen, f)
        params = {k: v.detach() for k, v in model.named_parameters()}
        torch.save(params,
                   osp.join(runner.work_dir, f'rank{rank}.pth'))
        torch.save({k: v for k, v in model.named_buffers()},
                   osp.join(runner.work_dir, f'rank{rank}_buffers.pth'))
