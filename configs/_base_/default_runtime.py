# Runtime of every simdr_ext config: mmpose's default runtime (hooks,
# visualiser, log processor, environment) with simdr_ext registered.

_base_ = ['mmpose::_base_/default_runtime.py']

custom_imports = dict(imports=['simdr_ext'], allow_failed_imports=False)

# where RUNNERS.build(cfg) builds the runner (tools/train.py, tools/test.py):
# crash-safe saving, checked loading and resuming
runner_type = 'CheckedRunner'
# mmpose's own tools/train.py and tools/test.py (`mim train mmpose`) build a
# plain Runner: these hooks still stop a run whose data and head disagree on
# the codec, crop size or keypoint count, or whose loss is NaN or inf
custom_hooks = [
    dict(type='SyncBuffersHook'),
    dict(type='RepresentationCheckHook'),
    dict(type='NonFiniteLossHook'),
]

# new checkpoint first, then last_checkpoint, then old ones deleted; keep
# the best checkpoint by the evaluator's first metric (coco/AP,
# crowdpose/AP or PCK)
default_hooks = dict(
    checkpoint=dict(type='SafeCheckpointHook', save_best='auto',
                    rule='greater'))
