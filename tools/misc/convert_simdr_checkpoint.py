# Copyright (c) simdr_ext contributors. All rights reserved.
"""Convert a SimDR authors' checkpoint (leeyegy/SimDR) to simdr_ext keys.

Example::

    python tools/misc/convert_simdr_checkpoint.py \\
        pose_resnet_50_simdr_256x192.pth simdr_res50_256x192.pth \\
        --config configs/simdr/coco/simdr_res50_4xb32-140e_coco-256x192.py

Reads ``SRC`` with ``torch.load(weights_only=True)`` (a plain state dict
such as the authors' ``final_state.pth`` / ``model_best.pth``, or their
training ``checkpoint.pth``, whose ``state_dict`` entry holds ``module.``
keys), renames the keys (:func:`simdr_ext.utils.convert_simdr.convert`)
and writes ``{'state_dict': ..., 'meta': ...}`` to ``DST``, which
``tools/test.py`` and ``load_from`` accept. With ``--config`` the result is
also checked against the keys and shapes of that config's model. Prints the
conversion report shared with ``convert_tokenpose_checkpoint.py`` (layout,
mapped / unmapped keys, missing / unexpected / mis-shaped keys). Exits 1
when a key is unmapped or the check fails (``DST`` is then not written).
"""
import sys

import simdr_ext  # noqa: F401  (registers the models)
from simdr_ext.utils.checkpoint_conversion import conversion_main
from simdr_ext.utils.convert_simdr import convert


def main(argv=None) -> int:
    return conversion_main(
        convert, "Convert a SimDR authors' checkpoint to simdr_ext keys", argv)


if __name__ == '__main__':
    sys.exit(main())
