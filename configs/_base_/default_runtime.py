# Runtime of every simdr_ext config: mmpose's default runtime (hooks,
# visualiser, log processor, environment) with simdr_ext registered.

_base_ = ['mmpose::_base_/default_runtime.py']

custom_imports = dict(imports=['simdr_ext'], allow_failed_imports=False)

# keep the best checkpoint by the evaluator's first metric (coco/AP,
# crowdpose/AP or PCK)
default_hooks = dict(checkpoint=dict(save_best='auto', rule='greater'))
