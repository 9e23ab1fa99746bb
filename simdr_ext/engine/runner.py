# Copyright (c) simdr_ext contributors. All rights reserved.
import os
import os.path as osp
import pickle
from typing import Dict, List

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from mmengine.dist import master_only


def state_dict_differences(model_state: Dict, ckpt_state: Dict) -> List[str]:
    """What keeps a checkpoint from loading into a model, one line a key.

    Args:
        model_state (dict): The model's ``state_dict()``.
        ckpt_state (dict): The checkpoint's state dict (prefixes such as
            ``module.`` already stripped).

    Returns:
        list[str]: Lines ``missing: key``, ``unexpected: key`` and
        ``shape: key checkpoint (a, b) vs model (c, d)``; empty when the
        checkpoint fits.
    """
    lines = [f'missing: {k}' for k in model_state if k not in ckpt_state]
    lines += [f'unexpected: {k}' for k in ckpt_state if k not in model_state]
    for k, v in ckpt_state.items():
        if k in model_state and hasattr(v, 'shape') and \
                tuple(v.shape) != tuple(model_state[k].shape):
            lines.append(f'shape: {k} checkpoint {tuple(v.shape)} vs model '
                         f'{tuple(model_state[k].shape)}')
    return lines


def refused_checkpoint_error(filename: str,
                             err: Exception) -> pickle.UnpicklingError:
    """A load error that says what was refused and how to proceed."""
    return pickle.UnpicklingError(
        f'Refused to load {filename}: it contains an object that '
        'torch.load(weights_only=True) does not allow, even with the '
        'mmengine/numpy types simdr_ext allow-lists. Only if you trust the '
        'file, re-save its state dict in a trusted session '
        '(torch.save({"state_dict": torch.load(path, weights_only=False)'
        '["state_dict"]}, new_path)) or run once with '
        'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1. Details: ' + str(err))


class KeypointCountCheckHook(Hook):
    """Stops a run whose datasets and head disagree on the keypoint count.

    Without it, a 14-keypoint data set under a 17-keypoint head fails deep
    inside the loss or the metric with an unrelated shape error.
    """

    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        head = getattr(model, 'head', None)
        expected = getattr(head, 'out_channels', None)
        if expected is None:
            return
        for name in ('train', 'val', 'test'):
            loop = getattr(runner, f'_{name}_loop', None)
            loader = getattr(loop, 'dataloader', None)
            meta = getattr(getattr(loader, 'dataset', None), 'metainfo', {})
            count = (meta or {}).get('num_keypoints')
            if count is not None and count != expected:
                raise ValueError(
                    f'the {name} dataset has {count} keypoints '
                    f'({meta.get("dataset_name", "?")}) but the head predicts '
                    f'{expected} (head.out_channels): use a config for this '
                    'data set or set out_channels to match')


class SimDRRunner(Runner):
    """mmengine's ``Runner`` with crash-safe checkpoints and safe loading.

    - Checkpoints are written to ``<name>.tmp`` and renamed, so a run killed
      while saving never leaves a truncated ``epoch_N.pth`` behind, and
      ``last_checkpoint`` (written after the rename) always names a complete
      file.
    - Loading goes through ``torch.load(weights_only=True)`` (torch >= 2.6;
      simdr_ext allow-lists what mmengine writes); a refused pickle raises an
      error that says so and how to proceed for a trusted file.
    - ``strict_load=True`` (used by testing) turns any missing, unexpected or
      mis-shaped key into a ``ValueError`` that lists them, instead of a
      warning and a silently half-loaded model.
    - :class:`KeypointCountCheckHook` checks the data sets against the head.
    """

    strict_load = False

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.register_hook(KeypointCountCheckHook())

    @master_only
    def save_checkpoint(self, out_dir: str, filename: str, *args,
                        **kwargs) -> None:
        tmp = f'{filename}.tmp'
        super().save_checkpoint(out_dir, tmp, *args, **kwargs)
        os.replace(osp.join(out_dir, tmp), osp.join(out_dir, filename))

    def resume(self, filename: str, *args, **kwargs) -> None:
        try:
            return super().resume(filename, *args, **kwargs)
        except pickle.UnpicklingError as err:
            raise refused_checkpoint_error(filename, err) from None

    def load_checkpoint(self, filename: str, *args, **kwargs):
        try:
            checkpoint = super().load_checkpoint(filename, *args, **kwargs)
        except pickle.UnpicklingError as err:
            raise refused_checkpoint_error(filename, err) from None
        model = self.model.module if is_model_wrapper(
            self.model) else self.model
        state = checkpoint.get('state_dict', checkpoint)
        state = {k[len('module.'):] if k.startswith('module.') else k: v
                 for k, v in state.items()}
        diff = state_dict_differences(model.state_dict(), state)
        if diff and self.strict_load:
            shown = '\n  '.join(diff[:20])
            more = f'\n  ... and {len(diff) - 20} more' if len(diff) > 20 \
                else ''
            raise ValueError(
                f'{filename} does not fit this model ({len(diff)} keys '
                f'differ); is it a checkpoint of another architecture?\n  '
                f'{shown}{more}')
        return checkpoint
