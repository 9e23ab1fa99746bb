# Copyright (c) simdr_ext contributors. All rights reserved.
"""``precision`` and the default ``batch_size`` of the batched API."""
import numpy as np
import pytest
import torch

from simdr_ext.apis import (BatchedTopdownInferencer, PoseInferencer,
                            batch_inference_topdown)
from simdr_ext.apis import batch_size as batch_size_module
from simdr_ext.apis import batched_inferencer


@pytest.fixture(scope='module')
def model(pose_model_factory):
    return pose_model_factory('simdr')


def test_bf16_is_refused_on_a_cpu_without_native_bf16(model):
    native = batched_inferencer.cpu_has_native_bf16()
    caps = torch.cpu.get_capabilities()
    assert native == (torch.ops.mkldnn._is_mkldnn_bf16_supported() and any(
        caps.get(k) for k in ('avx512_bf16', 'amx_bf16', 'bf16', 'sve_bf16')))
    if native:
        infer = BatchedTopdownInferencer(model, precision='bf16')
        assert infer.precision == 'bf16'
    else:
        with pytest.raises(ValueError) as err:
            BatchedTopdownInferencer(model, precision='bf16')
        message = str(err.value)
        assert "precision='bf16' on CPU needs native bfloat16" in message
        assert torch.backends.cpu.get_cpu_capability() in message
        assert "use precision='fp32'" in message


def test_bf16_refusal_follows_the_cpu_check(model, monkeypatch):
    monkeypatch.setattr(batched_inferencer, 'cpu_has_native_bf16',
                        lambda: False)
    with pytest.raises(ValueError, match='needs native bfloat16'):
        BatchedTopdownInferencer(model, precision='bf16')
    with pytest.raises(ValueError, match='needs native bfloat16'):
        PoseInferencer(model, precision='bf16', device='cpu')
    monkeypatch.setattr(batched_inferencer, 'cpu_has_native_bf16',
                        lambda: True)
    assert BatchedTopdownInferencer(model,
                                    precision='bf16').precision == 'bf16'


def test_fp16_and_unknown_precisions(model):
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match='fp16.*needs a CUDA model'):
            BatchedTopdownInferencer(model, precision='fp16')
        with pytest.raises(ValueError, match='fp16.*needs a CUDA model'):
            batch_inference_topdown(model, np.zeros((8, 8, 3), np.uint8),
                                    np.zeros((0, 4)), precision='fp16')
    with pytest.raises(ValueError, match=r"precision must be one of \("):
        BatchedTopdownInferencer(model, precision='half')


def test_fp16_flag_is_deprecated(model):
    with pytest.warns(DeprecationWarning, match="precision='fp16'"):
        infer = BatchedTopdownInferencer(model, fp16=False)
    assert infer.precision == 'fp32' and not infer.fp16
    if not torch.cuda.is_available():
        with pytest.warns(DeprecationWarning), pytest.raises(
                ValueError, match='needs a CUDA model'):
            BatchedTopdownInferencer(model, fp16=True)
    with pytest.warns(DeprecationWarning), pytest.raises(
            ValueError, match='contradicts'):
        BatchedTopdownInferencer(model, fp16=True, precision='bf16',
                                 allow_emulated_bf16=True)


def test_bf16_runs_network_in_bf16_and_decodes_in_float32(model):
    """Autocast covers backbone and head; the decoder gets float32."""
    infer = BatchedTopdownInferencer(model, precision='bf16',
                                     allow_emulated_bf16=True)
    seen = {}

    def record(name):

        def hook(module, inputs, outputs):
            seen.setdefault(name, outputs[-1].dtype)

        return hook

    hooks = [
        model.backbone.register_forward_hook(record('backbone')),
        # the head's last layer (predict calls forward, not the module)
        list(model.head.children())[-1].register_forward_hook(
            record('head'))
    ]
    decode = infer.decoder.decode_torch

    def spy(x, y):
        seen['decoder'] = (x.dtype, y.dtype)
        return decode(x, y)

    infer.decoder.decode_torch = spy
    try:
        crops = np.random.default_rng(0).integers(
            0, 256, (2, 128, 96, 3), dtype=np.uint8)
        out = infer.infer_crops(crops)
    finally:
        del infer.decoder.decode_torch
        for hook in hooks:
            hook.remove()
    assert seen == dict(backbone=torch.bfloat16, head=torch.bfloat16,
                        decoder=(torch.float32, torch.float32))
    assert out['keypoints'].dtype == np.float32
    assert out['keypoints'].shape == (2, 17, 2)


def test_default_batch_size_and_grouping_across_images(model):
    """``None`` gives 8 on the CPU; crops of consecutive images share a
    batch and only the last one is smaller (not padded)."""
    infer = BatchedTopdownInferencer(model)
    assert infer._batch_size is None
    assert infer.batch_size == batch_size_module.CPU_BATCH_SIZE == 8
    assert BatchedTopdownInferencer(model, batch_size=3).batch_size == 3
    sizes = []
    run = infer.infer_crops
    infer.infer_crops = lambda crops, *a: sizes.append(len(crops)) or run(
        crops, *a)
    img = np.zeros((240, 320, 3), np.uint8)
    boxes = np.array([[10, 10, 90, 200], [100, 20, 180, 220],
                      [200, 10, 300, 230]], np.float32)
    infer([img, img, img], [boxes, boxes, boxes])
    assert sizes == [8, 1]
    sizes.clear()
    infer(img, boxes[:2])
    assert sizes == [2], 'one image with 2 people: one batch of 2'


def test_cpu_models_go_channels_last(pose_model_factory):
    model = pose_model_factory('simdr')
    weight = model.backbone.conv1.weight
    assert not weight.is_contiguous(memory_format=torch.channels_last)
    BatchedTopdownInferencer(model, channels_last=False)
    assert not model.backbone.conv1.weight.is_contiguous(
        memory_format=torch.channels_last)
    infer = BatchedTopdownInferencer(model)
    assert infer.channels_last
    assert model.backbone.conv1.weight.is_contiguous(
        memory_format=torch.channels_last)


class _FakeInferencer:
    """Costs ``overhead + per_crop * B`` seconds of a fake clock per call;
    batches above ``fits`` run out of memory."""

    def __init__(self, fits=1024):
        self.model = torch.nn.Linear(1, 1)
        self.device = torch.device('cuda')
        self.geometry = type('G', (), dict(input_size=(4, 4)))()
        self.precision, self.flip_test = 'fp32', False
        self.now, self.calls, self.fits = 0.0, [], fits

    def clock(self):
        return self.now

    def infer_crops(self, crops):
        self.calls.append(len(crops))
        if len(crops) > self.fits:
            raise torch.cuda.OutOfMemoryError('fake')
        self.now += 0.01 + 0.001 * len(crops)


def test_gpu_batch_size_fills_the_device_and_is_cached(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'synchronize', lambda: None)
    monkeypatch.setattr(torch.cuda, 'empty_cache', lambda: None)
    fake = _FakeInferencer()
    # per crop 0.01 / B + 0.001: the gain per doubling falls below 5 %
    # between 128 and 256
    size = batch_size_module.fill_device_batch_size(fake, clock=fake.clock)
    assert size == 128
    calls = len(fake.calls)
    assert batch_size_module.fill_device_batch_size(
        fake, clock=fake.clock) == 128
    assert len(fake.calls) == calls, 'measured once'
    small = _FakeInferencer(fits=20)
    assert batch_size_module.fill_device_batch_size(
        small, clock=small.clock) == 16
