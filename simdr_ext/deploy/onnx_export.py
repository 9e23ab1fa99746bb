# Copyright (c) simdr_ext contributors. All rights reserved.
"""ONNX export of a top-down model with its decoder inside the graph.

The exported graph takes image crops as the data pipeline makes them
(``TopdownAffine`` output: BGR, float 0-255, shape (B, 3, h, w)), applies
the model's normalisation, runs backbone and head, and decodes with the
codec's torch twin (``decode_torch``), so its outputs are keypoints in crop
pixels (B, K, 2) and scores (B, K): no Python post-processing is needed.
"""
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
from torch import Tensor, nn


class DecodedPoseModel(nn.Module):
    """Normalise → backbone → head → ``decoder.decode_torch``.

    Args:
        model (nn.Module): An mmpose ``TopdownPoseEstimator`` whose head has
            a simdr_ext decoder (``SimDRLabel``, ``SASimDRLabel`` or
            ``DarkHeatmap``).
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        decoder = getattr(model.head, 'decoder', None)
        if decoder is None or not hasattr(decoder, 'decode_torch'):
            raise ValueError(
                'export needs a head whose decoder has a torch twin '
                '(simdr_ext codecs: SimDRLabel, SASimDRLabel, DarkHeatmap); '
                f'got {type(decoder).__name__}')
        self.model = model
        self.decoder = decoder
        pre = model.data_preprocessor
        self.register_buffer('mean', pre.mean.detach().clone().view(1, 3, 1,
                                                                    1))
        self.register_buffer('std', pre.std.detach().clone().view(1, 3, 1, 1))
        self.bgr_to_rgb = bool(getattr(pre, '_channel_conversion', False))

    def forward(self, crops: Tensor) -> Tuple[Tensor, Tensor]:
        """Crops (B, 3, h, w) BGR 0-255 → keypoints (B, K, 2), scores (B, K).
        """
        x = crops.flip(1) if self.bgr_to_rgb else crops
        x = (x - self.mean) / self.std
        outputs = self.model.head.forward(self.model.extract_feat(x))
        if not isinstance(outputs, (tuple, list)):
            outputs = (outputs, )
        keypoints, scores = self.decoder.decode_torch(*outputs)
        return keypoints.float(), scores.float()


def real_crops(cfg, image_folder: str, ann_file: str,
               max_crops: int = 8) -> np.ndarray:
    """Crops of annotated people through the config's test pipeline.

    Args:
        cfg (Config): The model config (its ``test_dataloader.dataset``
            pipeline gives the crops).
        image_folder (str): Folder of the images.
        ann_file (str): COCO-format annotation file.
        max_crops (int): At most this many crops. Defaults to 8.

    Returns:
        np.ndarray: Float32 crops in shape (N, 3, h, w), BGR 0-255.
    """
    from mmpose.registry import DATASETS
    dataset = DATASETS.build(
        dict(
            type='CheckedCocoDataset',
            data_root='',
            ann_file=ann_file,
            data_mode='topdown',
            data_prefix=dict(img=image_folder),
            test_mode=True,
            pipeline=cfg.test_dataloader.dataset.pipeline))
    return np.stack([
        dataset[i]['inputs'].float().numpy()
        for i in range(min(max_crops, len(dataset)))
    ])


def export_onnx(model: nn.Module,
                out_file: str,
                input_size: Tuple[int, int],
                opset: int = 17) -> DecodedPoseModel:
    """Export ``model`` (eval mode, CPU) to ``out_file``.

    Args:
        model (nn.Module): The pose model.
        out_file (str): The ``.onnx`` file.
        input_size (tuple): Crop size ``(w, h)``.
        opset (int): ONNX opset. Defaults to 17.

    Returns:
        DecodedPoseModel: The exported wrapper (for comparisons).
    """
    wrapper = DecodedPoseModel(model.cpu().eval()).eval()
    dummy = torch.rand(1, 3, input_size[1], input_size[0]) * 255
    with torch.no_grad():
        torch.onnx.export(
            wrapper, (dummy, ),
            out_file,
            input_names=['crops'],
            output_names=['keypoints', 'scores'],
            dynamic_axes=dict(
                crops={0: 'batch'},
                keypoints={0: 'batch'},
                scores={0: 'batch'}),
            opset_version=opset,
            dynamo=False)
    return wrapper


def compare_with_onnxruntime(wrapper: DecodedPoseModel, onnx_file: str,
                             crops: np.ndarray) -> Dict[str, float]:
    """Run both on the same crops; return the largest differences.

    Args:
        wrapper (DecodedPoseModel): The PyTorch model that was exported.
        onnx_file (str): The exported file.
        crops (np.ndarray): Crops (N, 3, h, w), float32 BGR 0-255.

    Returns:
        dict: ``max_abs_keypoints`` (crop px) and ``max_abs_scores``.
    """
    import onnxruntime as ort
    session = ort.InferenceSession(
        onnx_file, providers=['CPUExecutionProvider'])
    ort_kpts, ort_scores = session.run(None, {'crops': crops})
    with torch.no_grad():
        kpts, scores = wrapper(torch.from_numpy(crops))
    return dict(
        max_abs_keypoints=float(np.abs(ort_kpts - kpts.numpy()).max()),
        max_abs_scores=float(np.abs(ort_scores - scores.numpy()).max()))


def export_and_check(config: str,
                     checkpoint: Optional[str],
                     out_file: str,
                     image_folder: str,
                     ann_file: str,
                     max_crops: int = 8) -> Dict[str, float]:
    """Build a model, export it and compare onnxruntime with PyTorch.

    Args:
        config (str): Model config.
        checkpoint (str, optional): Checkpoint (``weights_only`` load);
            ``None`` keeps random weights.
        out_file (str): The ``.onnx`` file.
        image_folder (str): Folder of the images for real crops.
        ann_file (str): COCO-format annotation file for real crops.
        max_crops (int): Number of crops compared. Defaults to 8.

    Returns:
        dict: The differences of :func:`compare_with_onnxruntime` and
        ``num_crops``.
    """
    from mmpose.apis import init_model
    model = init_model(config, checkpoint, device='cpu')
    crops = real_crops(model.cfg, image_folder, ann_file, max_crops)
    wrapper = export_onnx(model, out_file, tuple(model.cfg.codec.input_size))
    result = compare_with_onnxruntime(wrapper, out_file, crops)
    result['num_crops'] = len(crops)
    return result


__all__: List[str] = [
    'DecodedPoseModel', 'real_crops', 'export_onnx',
    'compare_with_onnxruntime', 'export_and_check'
]
