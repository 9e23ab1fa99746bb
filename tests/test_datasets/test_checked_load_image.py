# Copyright (c) simdr_ext contributors. All rights reserved.
"""CheckedLoadImage: the header's size against the pixel budget before
decoding, the decoded size against the annotation file's, files named."""
import json
import os.path as osp
import shutil
import subprocess

import numpy as np
import pytest
from mmengine.registry import init_default_scope

from mmpose.registry import TRANSFORMS
from simdr_ext.datasets import DataFileError
from simdr_runtime.image_size import ImageSizeError

COCO_785 = ('tests', 'data', 'coco', '000000000785.jpg')  # 640 x 425


@pytest.fixture(autouse=True)
def mmpose_scope():
    init_default_scope('mmpose')


def load(**kwargs):
    return TRANSFORMS.build(dict(type='CheckedLoadImage', **kwargs))


def test_reads_an_image_as_load_image_does(repo_root):
    path = osp.join(repo_root, *COCO_785)
    ours = load()(dict(img_path=path, ann_img_shape=(425, 640)))
    theirs = TRANSFORMS.build(dict(type='LoadImage'))(dict(img_path=path))
    np.testing.assert_array_equal(ours['img'], theirs['img'])
    assert ours['img_shape'] == ours['ori_shape'] == (425, 640)
    floats = load(to_float32=True)(dict(img_path=path))
    assert floats['img'].dtype == np.float32
    given = np.zeros((5, 7, 3), np.uint8)  # an array is taken as given
    assert load()(dict(img=given))['img_shape'] == (5, 7)


@pytest.fixture
def no_decoding(monkeypatch):
    """Fail the test if any image is decoded."""
    import mmcv

    def refuse(*args, **kwargs):
        raise AssertionError('an image was decoded')

    monkeypatch.setattr(mmcv, 'imfrombytes', refuse)


def test_an_image_over_the_budget_is_refused_before_decoding(
        tmp_path, crafted_jpeg, no_decoding):
    path = tmp_path / 'huge.jpg'
    path.write_bytes(crafted_jpeg(30000, 30000))
    assert path.stat().st_size < 1000
    with pytest.raises(ImageSizeError,
                       match=f'cannot read image {path}: its JPEG header '
                       'claims 30000x30000 = 900000000 pixels, over the '
                       'budget of 134217728 pixels'):
        load()(dict(img_path=str(path)))
    with pytest.raises(ImageSizeError, match='over the budget of 1000 '):
        load(max_image_pixels=1000)(dict(img_path=str(path)))


def test_an_unreadable_header_is_refused_before_decoding(tmp_path,
                                                         no_decoding):
    path = tmp_path / 'text.jpg'
    path.write_bytes(b'not an image at all')
    with pytest.raises(ImageSizeError, match=f'cannot read image {path}: '):
        load()(dict(img_path=str(path)))


def test_a_decoded_size_other_than_the_annotation_files_is_named(repo_root):
    path = osp.join(repo_root, *COCO_785)
    with pytest.raises(DataFileError) as err:
        load()(dict(img_path=path, img_id=785, ann_img_shape=(425, 600)))
    assert str(err.value) == (
        f'image {path} (image id 785): the annotation file gives 600x425 '
        '(width x height), the image decodes to 640x425')


def test_missing_files_and_bad_budgets(tmp_path):
    missing = str(tmp_path / 'none.jpg')
    with pytest.raises(FileNotFoundError):
        load()(dict(img_path=missing))
    assert load(ignore_empty=True)(dict(img_path=missing)) is None
    for bad in (0, -5, 1.5, True, '100'):
        with pytest.raises(ValueError, match='max_pixels must be a positive'):
            load(max_image_pixels=bad)


# the test set of the bundled COCO file with a 30000 x 30000 claim in place
# of image 785 (the annotation file agrees); prints the peak memory in MiB
# before and after reading it, and the error
PROBE = '''
import json, resource, sys
from mmengine.registry import init_default_scope
from mmpose.registry import DATASETS
import simdr_ext
init_default_scope('mmpose')
root = sys.argv[1]
ds = DATASETS.build(dict(
    type='CheckedCocoDataset', data_root=root, ann_file='test_coco.json',
    data_prefix=dict(img=''), test_mode=True, pipeline=[
        dict(type='LoadImage'), dict(type='GetBBoxCenterScale'),
        dict(type='TopdownAffine', input_size=(48, 64)),
        dict(type='PackPoseInputs')]))
idx = next(i for i in range(len(ds))
           if '785' in ds.get_data_info(i)['img_path'])
peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
before, error = peak(), ''
try:
    ds[idx]
except Exception as err:
    error = f'{type(err).__name__}: {err}'
print(json.dumps(dict(before=before, after=peak(), error=error)))
'''


def test_a_huge_claim_costs_no_memory_in_a_test_run(python, repo_root,
                                                    tmp_path, crafted_jpeg):
    """A ~600-byte JPEG claiming 30000 x 30000 pixels (2.7 GB decoded)."""
    root = tmp_path / 'coco'
    shutil.copytree(osp.join(repo_root, 'tests', 'data', 'coco'), root)
    (root / '000000000785.jpg').write_bytes(crafted_jpeg(30000, 30000))
    ann = root / 'test_coco.json'
    data = json.loads(ann.read_text())
    data['images'][0].update(width=30000, height=30000)
    ann.write_text(json.dumps(data))
    proc = subprocess.run([python, '-c', PROBE, str(root)],
                          cwd=repo_root,
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result['error'].startswith(
        f'RuntimeError: cannot read image {root / "000000000785.jpg"} '
        '(instance id 442619): its JPEG header claims 30000x30000'), result
    assert result['after'] - result['before'] < 100, result


def test_inference_topdown_without_boxes_says_it_uses_the_whole_picture(
        quickstart_config, repo_root):
    """mmpose's ``inference_topdown`` reads the config's test pipeline,
    which ``codec_loader`` writes with ``CheckedLoadImage``: the pixel
    budget holds there too, and no boxes means a warning."""
    import warnings

    import torch

    from mmpose.apis import inference_topdown, init_model
    from simdr_runtime import read_image
    torch.manual_seed(0)
    model = init_model(quickstart_config, None, device='cpu')
    steps = [s['type'] for s in model.cfg.test_dataloader.dataset.pipeline]
    assert steps[0] == 'CheckedLoadImage'
    img = osp.join(repo_root, *COCO_785)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        inference_topdown(model, img)
        inference_topdown(model, read_image(img))
    whole = [str(w.message) for w in caught if 'whole picture' in str(
        w.message)]
    assert len(whole) == 2, whole
    assert 'estimate_poses' in whole[0]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        inference_topdown(model, img, bboxes=np.array([[10, 10, 100, 200]]))
    assert not [w for w in caught if 'whole picture' in str(w.message)]
