# Copyright (c) simdr_ext contributors. All rights reserved.
"""Convert a TokenPose authors' checkpoint (leeyegy/TokenPose) to simdr_ext.

Example::

    CONFIG=configs/tokenpose/coco/dark_tokenpose-s_4xb32-300e_coco-256x192.py
    python tools/misc/convert_tokenpose_checkpoint.py \\
        tokenpose_s_v1.pth dark_tokenpose-s_coco-256x192.pth --config $CONFIG

Reads ``SRC`` with ``torch.load(weights_only=True)`` (a plain state dict
such as the authors' ``final_state.pth`` / ``model_best.pth``, or their
training ``checkpoint.pth``, whose ``state_dict`` entry holds ``module.``
keys) of ``pose_tokenpose_{t,s,b,l}`` (B / L with their HRNet stem under
``pre_feature``), renames the keys
(:func:`simdr_ext.utils.convert_tokenpose.convert`, mapping table there)
and writes ``{'state_dict': ..., 'meta': ...}`` to ``DST`` for
``load_from`` / ``tools/test.py``. The authors' TokenPose predicts
heatmaps: use a ``dark_tokenpose-*`` config. With ``--config`` the result
is also checked against the keys and shapes of that config's model. Prints
the conversion report shared with ``convert_simdr_checkpoint.py``. Exits 1
when a key is unmapped or the check fails (``DST`` is then not written).
No TokenPose weights were released (leeyegy/TokenPose#4-#6): this is for
checkpoints you trained with the authors' code.
"""
import sys

import simdr_ext  # noqa: F401  (registers the models)
from simdr_ext.utils.checkpoint_conversion import conversion_main
from simdr_ext.utils.convert_tokenpose import convert


def main(argv=None) -> int:
    return conversion_main(
        convert, "Convert a TokenPose authors' checkpoint to simdr_ext", argv)


if __name__ == '__main__':
    sys.exit(main())
