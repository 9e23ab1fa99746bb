# Copyright (c) simdr_ext contributors. All rights reserved.
"""Top-down pose estimation with an exported ONNX model and onnxruntime.

The model file is what ``tools/deploy/export_onnx.py`` writes: the
normalisation, the network, the flip test (when the config asks for it)
and the decoder are inside the graph; the crop geometry is in the file's
metadata (keys :data:`METADATA_KEYS`). This module needs numpy, OpenCV and
onnxruntime only.
"""
import json
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np

from .engine import CropGeometry, run_topdown

#: Metadata written by the export and read here.
METADATA_KEYS = ('simdr.input_size', 'simdr.padding', 'simdr.use_udp',
                 'simdr.flip_test', 'simdr.num_keypoints',
                 'simdr.precision', 'simdr.decoder')


class OnnxPoseRuntime:
    """Batched top-down inference with an exported model.

    Args:
        onnx_file (str): The exported ``.onnx`` file.
        batch_size (int): Crops per onnxruntime call. Defaults to 8.
        providers (Sequence[str], optional): onnxruntime execution
            providers. Defaults to ``['CPUExecutionProvider']``.
        num_threads (int, optional): Intra-op threads. Defaults to
            onnxruntime's choice.

    Example::

        runtime = OnnxPoseRuntime('simdr.onnx', batch_size=8)
        results = runtime(['a.jpg', 'b.jpg'], [boxes_a, boxes_b])
        results[0]['keypoints']  # (M, K, 2) image pixels
    """

    def __init__(self,
                 onnx_file: str,
                 batch_size: int = 8,
                 providers: Optional[Sequence[str]] = None,
                 num_threads: Optional[int] = None) -> None:
        import onnxruntime as ort
        if not osp.isfile(onnx_file):
            raise FileNotFoundError(f'ONNX model {onnx_file} does not exist')
        options = ort.SessionOptions()
        if num_threads is not None:
            options.intra_op_num_threads = int(num_threads)
            options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            onnx_file, options,
            providers=list(providers or ['CPUExecutionProvider']))
        meta = self.session.get_modelmeta().custom_metadata_map
        missing = [k for k in METADATA_KEYS if k not in meta]
        if missing:
            raise ValueError(
                f'{onnx_file} lacks the metadata {missing}: export it with '
                'tools/deploy/export_onnx.py')
        self.metadata: Dict[str, object] = {
            k[len('simdr.'):]: json.loads(meta[k])
            for k in METADATA_KEYS
        }
        self.geometry = CropGeometry(
            tuple(self.metadata['input_size']),
            float(self.metadata['padding']), bool(self.metadata['use_udp']))
        self.num_keypoints = int(self.metadata['num_keypoints'])
        self.output_names = [o.name for o in self.session.get_outputs()]
        self.batch_size = batch_size

    def infer_crops(self, crops: np.ndarray,
                    return_distributions: bool = False
                    ) -> Dict[str, np.ndarray]:
        """Run the graph on crops.

        Args:
            crops (np.ndarray): uint8 BGR crops (B, h, w, 3).
            return_distributions (bool): Also return ``simcc_x`` and
                ``simcc_y`` (softmax over the bins) for SimDR models.

        Returns:
            dict: ``keypoints`` (B, K, 2) crop pixels, ``keypoint_scores``
            (B, K), and the distributions on request.
        """
        names = ['keypoints', 'scores']
        if return_distributions:
            if 'simcc_x' not in self.output_names:
                raise ValueError('this model has no 1D distributions (not a '
                                 'SimDR model)')
            names += ['simcc_x', 'simcc_y']
        x = np.ascontiguousarray(crops.transpose(0, 3, 1, 2),
                                 dtype=np.float32)
        outs = self.session.run(names, {'crops': x})
        result = dict(keypoints=outs[0], keypoint_scores=outs[1])
        if return_distributions:
            result.update(simcc_x=outs[2], simcc_y=outs[3])
        return result

    def __call__(self,
                 images,
                 boxes,
                 return_distributions: bool = False) -> List[Dict]:
        """Keypoints of every box of every image.

        Args:
            images (str | np.ndarray | Sequence): One image (path or BGR
                array (H, W, 3)) or a list of them.
            boxes: (M, 4) xyxy boxes for one image, or a list of them,
                one per image (``None`` or empty: nobody).
            return_distributions (bool): Also return the SimDR 1D
                distributions ``simcc_x`` (M, K, Wx), ``simcc_y``
                (M, K, Wy). Defaults to ``False``.

        Returns:
            list[dict]: Per image ``bboxes`` (M, 4), ``keypoints``
            (M, K, 2) and ``keypoint_scores`` (M, K).
        """
        return run_topdown(
            images, boxes, self.geometry, self.batch_size,
            lambda crops: self.infer_crops(crops, return_distributions),
            self.num_keypoints)


__all__ = ['OnnxPoseRuntime', 'METADATA_KEYS']
