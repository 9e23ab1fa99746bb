# Copyright (c) simdr_ext contributors. All rights reserved.
"""A toy mmengine run (a 2-parameter model, 4 samples, a metric that
improves every epoch) for the checkpoint engine's quick tests: real
``Runner.train``, ``resume``, ``CheckpointHook`` and save-best logic in
about a second."""
import pytest
import torch
from mmengine.evaluator import BaseMetric, Evaluator
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

from simdr_ext.engine import CheckedRunner, SafeCheckpointHook


class ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        y = self.linear(torch.stack(inputs))
        if mode == 'loss':
            return dict(loss=(y**2).mean())
        return [dict(y=float(v)) for v in y] if mode == 'predict' else y


class ToyData(Dataset):
    metainfo = dict(dataset_name='toy')

    def __len__(self):
        return 4

    def __getitem__(self, i):
        return dict(inputs=torch.full((2, ), float(i)), data_samples=i)


class ImprovingMetric(BaseMetric):
    """``score`` = the number of evaluations in this session: every
    evaluation, resumed runs included, is a new best."""
    calls = 0

    def process(self, data_batch, data_samples):
        self.results.append(len(data_samples))

    def compute_metrics(self, results):
        type(self).calls += 1
        return dict(score=float(type(self).calls))


@pytest.fixture
def toy_run():
    """``toy_run(work_dir, epochs=1, runner=CheckedRunner, **cfg)`` → the
    runner after ``train()``; ``cfg`` overrides the runner arguments."""

    def run(work_dir, epochs=1, runner=CheckedRunner, train=True, **cfg):
        loader = dict(dataset=ToyData(), batch_size=2,
                      sampler=dict(type='DefaultSampler', shuffle=False),
                      collate_fn=dict(type='pseudo_collate'))
        kwargs = dict(
            model=ToyModel(), work_dir=str(work_dir),
            train_dataloader=loader, val_dataloader=loader,
            val_evaluator=Evaluator(ImprovingMetric()),
            optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
            train_cfg=dict(by_epoch=True, max_epochs=epochs,
                           val_interval=1),
            val_cfg=dict(),
            default_hooks=dict(checkpoint=dict(
                type=SafeCheckpointHook, interval=1, save_best='auto',
                rule='greater')),
            default_scope='mmpose', randomness=dict(seed=0),
            log_level='WARNING')
        kwargs.update(cfg)
        r = runner(**kwargs)
        if train:
            r.train()
        return r

    return run


__all__ = ['Runner', 'CheckedRunner']
