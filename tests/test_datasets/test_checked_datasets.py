# Copyright (c) simdr_ext contributors. All rights reserved.
import copy
import json
import logging
import os.path as osp
import pickle
import re
import shutil
import subprocess
import warnings

import pytest
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope

from mmpose.registry import DATASETS, TRANSFORMS
from simdr_ext.datasets import DataFileError, codec_loader

PIPELINE = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='TopdownAffine', input_size=(48, 64)),
    dict(type='PackPoseInputs'),
]


@pytest.fixture(autouse=True)
def mmpose_scope():
    init_default_scope('mmpose')


@pytest.fixture
def coco_copy(tmp_path, repo_root):
    """The bundled COCO files in a folder the test may damage."""
    src = osp.join(repo_root, 'tests', 'data', 'coco')
    dst = tmp_path / 'coco'
    shutil.copytree(src, dst)
    return dst


def build(root, **kwargs):
    cfg = dict(
        type='CheckedCocoDataset',
        data_root=str(root),
        data_mode='topdown',
        ann_file='test_coco.json',
        data_prefix=dict(img=''),
        pipeline=PIPELINE)
    cfg.update(kwargs)
    return DATASETS.build(cfg)


def write_dets(root, dets):
    path = root / 'dets.json'
    path.write_text(json.dumps(dets))
    return str(path)


def test_bad_detections_are_skipped_with_one_warning(coco_copy):
    good = dict(image_id=785, category_id=1, bbox=[280, 44, 218, 346],
                score=0.9)
    dets = [
        good,
        dict(good, image_id=123456),  # unknown image
        dict(good, bbox=[10, 10, 0, 50]),  # zero area
        dict(good, bbox=[10, 10, -5, 50]),  # negative width
        dict(good, bbox=[10, float('nan'), 5, 50]),  # NaN (json: NaN)
        dict(good, score=float('inf')),
        dict(good, score=-0.2),  # negative score
        dict(good, category_id=2),  # not a person
    ]
    path = write_dets(coco_copy, dets)
    with pytest.warns(UserWarning) as record:
        ds = build(coco_copy, test_mode=True, bbox_file=path)
    assert [str(w.message) for w in record] == [
        f'CheckedCocoDataset {path}: 1 instances kept; skipped detections: '
        '3 with bad box, 2 with bad score, 1 with not a person, 1 with '
        'unknown image'
    ]
    assert len(ds) == 1
    assert ds[0]['inputs'].shape[-2:] == (64, 48)


def test_image_without_detections_is_fine(coco_copy):
    dets = [dict(image_id=785, category_id=1, bbox=[280, 44, 218, 346],
                 score=0.9)]
    ds = build(coco_copy, test_mode=True, bbox_file=write_dets(coco_copy,
                                                               dets))
    assert len(ds) == 1 and ds[0]['data_samples'].img_id == 785


def test_missing_image_files_are_reported_and_skipped(coco_copy):
    (coco_copy / '000000000785.jpg').unlink()
    with pytest.warns(UserWarning, match='000000000785.jpg'):
        ds = build(coco_copy)
    assert len(ds) == 11  # 12 people with keypoints, one on that image
    assert all('785' not in ds.get_data_info(i)['img_path']
               for i in range(len(ds)))


def test_no_image_file_at_all_stops_the_build(coco_copy):
    for image in coco_copy.glob('*.jpg'):
        image.unlink()
    with pytest.raises(FileNotFoundError,
                       match=f'none of the 4 image files .* exists '
                       f'\\(looked in {coco_copy}\\)'):
        build(coco_copy)


def test_corrupt_image_stops_a_test_run_naming_the_file(coco_copy):
    (coco_copy / '000000000785.jpg').write_bytes(b'not a jpeg')
    ds = build(coco_copy, test_mode=True)
    idx = next(i for i in range(len(ds))
               if '785' in ds.get_data_info(i)['img_path'])
    with pytest.raises(RuntimeError,
                       match='cannot read image .*785.jpg .instance id '):
        ds[idx]


def test_corrupt_image_is_skipped_in_training(coco_copy):
    (coco_copy / '000000000785.jpg').write_bytes(b'not a jpeg')
    ds = build(coco_copy)
    idx = next(i for i in range(len(ds))
               if '785' in ds.get_data_info(i)['img_path'])
    with pytest.warns(UserWarning, match='skipping unreadable image'):
        sample = ds[idx]  # mmengine draws another sample instead
    assert '785' not in sample['data_samples'].img_path


class Touch:
    """A pickle whose loading creates ``path`` (a harmless stand-in for
    code that a pickle can run)."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, 'w'))


@pytest.mark.parametrize('name', ['dets.pkl', 'dets.json'])
def test_a_pickled_bbox_file_is_refused_before_it_runs(coco_copy, name):
    marker = coco_copy / 'payload_ran'
    path = coco_copy / name
    path.write_bytes(pickle.dumps([Touch(marker)]))
    with pytest.raises(DataFileError, match=f'bbox file {path}'):
        build(coco_copy, test_mode=True, bbox_file=str(path))
    assert not marker.exists()


def test_a_malformed_detection_stops_the_build(coco_copy):
    good = dict(image_id=785, category_id=1, bbox=[280, 44, 218, 346],
                score=0.9)
    bad = dict(good, bbox=['280', 44, 218, 346])
    path = write_dets(coco_copy, [good, bad])
    with pytest.raises(DataFileError,
                       match='entry 1: "bbox" must be a list of 4 numbers'):
        build(coco_copy, test_mode=True, bbox_file=path)


def test_no_usable_detection_gives_an_empty_test_set(coco_copy):
    """mmengine cannot serialise an empty data list (np.concatenate of
    nothing); the checked set is empty and says why."""
    path = write_dets(coco_copy, [dict(image_id=785, category_id=2,
                                       bbox=[280, 44, 218, 346], score=0.9)])
    with pytest.warns(UserWarning, match='every person counts as a miss'):
        ds = build(coco_copy, test_mode=True, bbox_file=path)
    assert len(ds) == 0


def write_ann(root, change):
    """The bundled test_coco.json with ``change(data)`` applied."""
    path = root / 'test_coco.json'
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


# one real annotation damaged per case; what the error must name
FIRST = 442619  # the first annotation of test_coco.json (image 785)
BAD_ANNOTATIONS = [
    ('16 keypoints',
     lambda d: d['annotations'][0]['keypoints'].__delitem__(slice(48, None)),
     f'annotation id {FIRST}: "keypoints" has 16 keypoints'),
    ('18 keypoints',
     lambda d: d['annotations'][0]['keypoints'].extend([1, 1, 2]),
     f'annotation id {FIRST}: "keypoints" has 18 keypoints'),
    ('a string keypoint',
     lambda d: d['annotations'][0]['keypoints'].__setitem__(0, 'x'),
     f'annotation id {FIRST}: "keypoints" value 0 is \'x\''),
    ('no keypoints', lambda d: d['annotations'][0].pop('keypoints'),
     f'annotation id {FIRST}: has no "keypoints"'),
    ('3-value bbox', lambda d: d['annotations'][0]['bbox'].pop(),
     f'annotation id {FIRST}: "bbox" must be 4 finite numbers'),
    ('duplicate image id', lambda d: d['images'][1].update(id=785),
     'image id 785: listed twice'),
    ('no images', lambda d: d.pop('images'), 'has no "images" list'),
    ('empty annotations', lambda d: d.update(annotations=[]),
     'the "annotations" list is empty'),
    ('category_id "1"', lambda d: d['annotations'][0].update(category_id='1'),
     f'annotation id {FIRST}: "category_id" must be an integer (int64)'),
    ('category id "1"', lambda d: d['categories'][0].update(id='1'),
     'category entry 0: must be an object with an integer "id"'),
    ('no category_id', lambda d: d['annotations'][0].pop('category_id'),
     f'annotation id {FIRST}: has no "category_id"'),
    ('400-digit keypoint', lambda d: d['annotations'][0]['keypoints']
     .__setitem__(0, 10**400), f'annotation id {FIRST}: "keypoints" value 0'),
    ('1e300 box', lambda d: d['annotations'][0]['bbox'].__setitem__(2, 1e300),
     f'annotation id {FIRST}: "bbox" must be 4 finite numbers'),
    ('deep segmentation', lambda d: d['annotations'][0].update(
        segmentation=json.loads('[' * 100 + ']' * 100)),
     'lists and objects nest more than 64 levels deep'),
]


@pytest.mark.parametrize('case,change,words', BAD_ANNOTATIONS,
                         ids=[c[0] for c in BAD_ANNOTATIONS])
@pytest.mark.parametrize('test_mode', [False, True])
def test_a_bad_annotation_file_stops_the_build(coco_copy, case, change,
                                               words, test_mode):
    write_ann(coco_copy, change)
    with pytest.raises(DataFileError) as err:
        build(coco_copy, test_mode=test_mode)
    assert str(err.value).startswith(
        f'annotation file {coco_copy / "test_coco.json"}: ')
    assert words in str(err.value)


def all_invisible(data):
    for ann in data['annotations']:
        ann['keypoints'] = [0] * 51
        ann['num_keypoints'] = 0


def all_zero_boxes(data):
    for ann in data['annotations']:
        ann['bbox'] = [ann['bbox'][0], ann['bbox'][1], 0, 0]


@pytest.mark.parametrize('change', [all_invisible, all_zero_boxes])
def test_no_usable_instance_stops_the_build(coco_copy, change):
    write_ann(coco_copy, change)
    with pytest.raises(DataFileError,
                       match='none of its 14 annotations is a usable'):
        build(coco_copy)


def test_an_annotation_pickle_is_refused(coco_copy):
    marker = coco_copy / 'payload_ran'
    (coco_copy / 'test_coco.pkl').write_bytes(pickle.dumps(Touch(marker)))
    with pytest.raises(DataFileError, match='only JSON files'):
        build(coco_copy, ann_file='test_coco.pkl')
    assert not marker.exists()


def test_crowdpose_and_mpii_files_are_checked(tmp_path, repo_root):
    for name, cfg in [
        ('crowdpose', dict(type='CheckedCrowdPoseDataset',
                           ann_file='test_crowdpose.json')),
        ('mpii', dict(type='CheckedMpiiDataset', ann_file='test_mpii.json'))
    ]:
        root = tmp_path / name
        shutil.copytree(osp.join(repo_root, 'tests', 'data', name), root)
        ds = DATASETS.build(
            dict(cfg, data_root=str(root), data_prefix=dict(img=''),
                 pipeline=PIPELINE))
        assert len(ds) > 0
        path = root / cfg['ann_file']
        data = json.loads(path.read_text())
        first = data['annotations'][0] if name == 'crowdpose' else data[0]
        key = 'keypoints' if name == 'crowdpose' else 'joints'
        first[key] = first[key][:-1]
        path.write_text(json.dumps(data))
        ann_id = first['id'] if name == 'crowdpose' else 0
        with pytest.raises(DataFileError,
                           match=f'annotation id {ann_id}: "{key}" has'):
            DATASETS.build(
                dict(cfg, data_root=str(root), data_prefix=dict(img=''),
                     pipeline=PIPELINE))


def test_checked_sets_take_mmpose_arguments(coco_copy):
    """Drop-in: every argument of mmpose's CocoDataset is accepted and
    gives the same data list and pipeline on a good file."""
    from simdr_ext.datasets import CheckedCocoDataset
    kwargs = dict(data_root=str(coco_copy), data_mode='topdown',
                  ann_file='test_coco.json', data_prefix=dict(img=''),
                  metainfo=CheckedCocoDataset.METAINFO, pipeline=PIPELINE,
                  test_mode=True, indices=5, serialize_data=False,
                  lazy_init=False, max_refetch=3, sample_interval=1)
    ours = DATASETS.build(dict(type='CheckedCocoDataset', **kwargs))
    theirs = DATASETS.build(dict(type='CocoDataset', **copy.deepcopy(kwargs)))
    assert len(ours) == len(theirs) == 5
    assert [ours.get_data_info(i)['id'] for i in range(5)] == \
        [theirs.get_data_info(i)['id'] for i in range(5)]
    # without a codec the pipeline is taken as given, but for the checked
    # image loading step
    assert ours.codec is None
    assert type(ours.pipeline.transforms[0]).__name__ == 'CheckedLoadImage'
    assert type(theirs.pipeline.transforms[0]).__name__ == 'LoadImage'
    assert repr(ours.pipeline.transforms[1:]) == repr(
        theirs.pipeline.transforms[1:])


# the codec of a 48x64 SimDR model; pipelines leave its values out
CODEC = dict(type='SimDRLabel', input_size=(48, 64), split_ratio=2.0)
ARGLESS = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='TopdownAffine'),
    dict(type='GenerateTarget'),
    dict(type='PackPoseInputs'),
]


def test_the_codec_fills_input_size_and_encoder(coco_copy):
    pipeline = copy.deepcopy(ARGLESS)
    ds = build(coco_copy, codec=CODEC, pipeline=pipeline)
    affine, target = ds.pipeline.transforms[2:4]
    assert affine.input_size == (48, 64)
    assert target.encoder.input_size == (48, 64)
    assert target.encoder.split_ratio == 2.0
    assert pipeline == ARGLESS, 'the given pipeline is not changed'
    sample = ds[0]
    assert sample['inputs'].shape[-2:] == (64, 48)
    labels = sample['data_samples'].gt_instance_labels
    assert labels.keypoint_x_labels.shape[-1] == 96  # 48 px x split ratio 2
    assert labels.keypoint_y_labels.shape[-1] == 128
    # values equal to the codec's (tuple or list) are accepted
    stated = [dict(t) for t in ARGLESS]
    stated[2].update(input_size=[48, 64])
    stated[3].update(encoder=dict(CODEC, input_size=[48, 64]))
    ds = build(coco_copy, codec=CODEC, pipeline=stated)
    assert ds.pipeline.transforms[2].input_size == [48, 64]


@pytest.mark.parametrize('step,key,value,shown', [
    (2, 'input_size', (64, 64), 'TopdownAffine states input_size=(64, 64) '
     'but the codec gives (48, 64)'),
    (3, 'encoder', dict(CODEC, split_ratio=3.0), 'GenerateTarget states '
     "encoder={'type': 'SimDRLabel', 'input_size': (48, 64), 'split_ratio': "
     '3.0}'),
], ids=['affine', 'target'])
def test_a_transform_that_contradicts_the_codec_is_refused(
        coco_copy, step, key, value, shown):
    pipeline = copy.deepcopy(ARGLESS)
    pipeline[step][key] = value
    with pytest.raises(ValueError) as err:
        build(coco_copy, codec=CODEC, pipeline=pipeline)
    assert str(err.value).startswith(f'CheckedCocoDataset: {shown}')


@pytest.mark.parametrize('codec', [(48, 64), dict(type='SimDRLabel')],
                         ids=['not a dict', 'no input size'])
def test_a_bad_codec_is_named(coco_copy, codec):
    with pytest.raises(ValueError) as err:
        build(coco_copy, codec=codec, pipeline=ARGLESS)
    assert str(err.value).startswith(f'CheckedCocoDataset got codec={codec!r}')


def test_codec_loader_writes_the_input_size_into_the_test_pipeline():
    test_pipeline = [t for t in ARGLESS if t['type'] != 'GenerateTarget']
    loader = codec_loader(CODEC, test_pipeline, ann_file='val.json')
    dataset = loader['dataset']
    assert dataset['codec'] == CODEC and dataset['ann_file'] == 'val.json'
    assert dataset['pipeline'][2] == dict(type='TopdownAffine',
                                          input_size=(48, 64))
    # buildable as written: mmpose's inference_topdown needs no data set
    init_default_scope('mmpose')
    for step in dataset['pipeline']:
        TRANSFORMS.build(step)
    assert test_pipeline[2] == dict(type='TopdownAffine'), 'not changed'
    with pytest.raises(ValueError, match='the test pipeline: TopdownAffine'):
        codec_loader(CODEC, [dict(type='TopdownAffine', input_size=(9, 9))])


def test_without_a_codec_argless_transforms_fail_as_in_mmpose(coco_copy):
    with pytest.raises(TypeError, match='input_size'):
        build(coco_copy, pipeline=ARGLESS)


def test_metainfo_does_not_depend_on_the_working_directory(
        coco_copy, tmp_path, monkeypatch):
    """A project's own configs/_base_/datasets/coco.py (a data-set config)
    shadows mmpose's metainfo file of the same relative name."""
    shadow = tmp_path / 'configs' / '_base_' / 'datasets' / 'coco.py'
    shadow.parent.mkdir(parents=True)
    shadow.write_text("dataset_type = 'CheckedCocoDataset'\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(AttributeError, match='dataset_info'):
        build(coco_copy, type='CocoDataset')
    ds = build(coco_copy)
    assert ds.metainfo['dataset_name'] == 'coco'
    assert ds.metainfo['num_keypoints'] == 17


def test_a_bad_annotation_file_stops_training_before_any_iteration(
        coco_copy, python, repo_root, quickstart_config, tmp_path):
    """tools/train.py on a file where one person has 16 keypoints (mmpose
    would stack it with the 17-keypoint ones inside the head)."""
    write_ann(coco_copy, BAD_ANNOTATIONS[0][1])
    proc = subprocess.run([
        python, 'tools/train.py', quickstart_config, '--work-dir',
        str(tmp_path / 'work'), '--cfg-options',
        f'train_dataloader.dataset.data_root={coco_copy}/',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False', 'train_cfg.max_epochs=1'
    ],
                          cwd=repo_root,
                          capture_output=True,
                          text=True,
                          timeout=600)
    assert proc.returncode != 0
    assert (f'DataFileError: annotation file {coco_copy}/test_coco.json: 1 '
            f'problem(s): annotation id {FIRST}: "keypoints" has 16 '
            'keypoints, the data set has 17') in proc.stderr
    assert 'Epoch(train)' not in proc.stdout + proc.stderr


def info_index(ds, name):
    return next(i for i in range(len(ds))
                if name in ds.get_data_info(i)['img_path'])


# ------------------------------------------------ instances left out count


def test_every_skipped_instance_is_counted_in_one_line(coco_copy):
    """mmpose leaves out crowd regions, people without a visible keypoint
    and boxes of zero area once clipped to the image (here: a negative
    width, a box right of the image); the bundled file has 2 people without
    a visible keypoint."""
    def change(data):
        anns = data['annotations']
        anns[0]['iscrowd'] = 1
        anns[1]['bbox'] = [100, 100, -5, 50]
        anns[2]['bbox'] = [700, 10, 50, 50]  # the image is 640 wide
    write_ann(coco_copy, change)
    with pytest.warns(UserWarning) as record:
        ds = build(coco_copy)
    assert len(ds) == 9
    assert [str(w.message) for w in record] == [
        f'CheckedCocoDataset {coco_copy / "test_coco.json"}: 9 instances '
        'kept; skipped: 2 no visible keypoint, 2 zero-area box, 1 crowd '
        'region'
    ]


class Records(logging.Handler):

    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def test_a_set_without_skipped_instances_warns_nothing(coco_copy):
    write_ann(coco_copy, lambda d: d.update(annotations=[
        a for a in d['annotations'] if a['num_keypoints'] > 0]))
    logger, records = MMLogger.get_current_instance(), Records()
    logger.addHandler(records)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('error')
            ds = build(coco_copy)
    finally:
        logger.removeHandler(records)
    assert len(ds) == 12
    summary = [line for line in records.lines if 'instances kept' in line]
    assert summary == [
        f'CheckedCocoDataset {coco_copy / "test_coco.json"}: 12 instances '
        'kept'
    ]


def test_missing_images_are_in_the_summary_line(coco_copy):
    (coco_copy / '000000000785.jpg').unlink()
    with pytest.warns(UserWarning) as record:
        build(coco_copy)
    assert [str(w.message) for w in record] == [
        f'CheckedCocoDataset {coco_copy / "test_coco.json"}: 11 instances '
        'kept; skipped: 2 no visible keypoint, 1 on a missing image file; '
        f'missing image files: {coco_copy / "000000000785.jpg"}'
    ]


def test_sample_interval_and_score_threshold_are_counted(coco_copy):
    with pytest.warns(UserWarning, match='5 instances kept; skipped: 9 on '
                      'images left out by sample_interval=2'):
        build(coco_copy, sample_interval=2)  # only image 197388 is even
    good = dict(image_id=785, category_id=1, bbox=[280, 44, 218, 346],
                score=0.9)
    path = write_dets(coco_copy, [good, dict(good, score=0.1)])
    with pytest.warns(UserWarning, match=r'dets.json: 1 instances kept; '
                      'skipped: 1 box score below bbox_score_thr'):
        ds = build(coco_copy, test_mode=True, bbox_file=path,
                   filter_cfg=dict(bbox_score_thr=0.5))
    assert len(ds) == 1


def test_mpii_people_without_a_keypoint_are_counted(tmp_path, repo_root):
    root = tmp_path / 'mpii'
    shutil.copytree(osp.join(repo_root, 'tests', 'data', 'mpii'), root)
    path = root / 'test_mpii.json'
    data = json.loads(path.read_text())
    data[0]['joints'] = [[-1.0, -1.0]] * 16
    path.write_text(json.dumps(data))
    with pytest.warns(UserWarning, match='CheckedMpiiDataset .*test_mpii.json'
                      ': 4 instances kept; skipped: 1 no keypoint '
                      'coordinate > 0'):
        ds = DATASETS.build(dict(type='CheckedMpiiDataset',
                                 data_root=str(root),
                                 ann_file='test_mpii.json',
                                 data_prefix=dict(img=''), pipeline=PIPELINE))
    assert len(ds) == 4


@pytest.mark.parametrize('change,words', [
    (lambda d: [a.pop('joints') for a in d], 'annotation id 0: has no '
     '"joints"'),
    (lambda d: d[1].update(image='frame.jpg'), 'annotation id 1: "image" '
     "'frame.jpg' must be named by an integer id"),
], ids=['test set without joints', 'image name without an id'])
def test_mpii_files_mmpose_cannot_read_are_refused(tmp_path, repo_root,
                                                   change, words):
    """mmpose 1.3 reads "joints" in test mode too, and the image id from
    the image name: a KeyError or ValueError without the file's name."""
    root = tmp_path / 'mpii'
    shutil.copytree(osp.join(repo_root, 'tests', 'data', 'mpii'), root)
    path = root / 'test_mpii.json'
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    with pytest.raises(DataFileError, match=f'annotation file {path}: .*'
                       f'{words}'):
        DATASETS.build(dict(type='CheckedMpiiDataset', data_root=str(root),
                            ann_file='test_mpii.json', test_mode=True,
                            data_prefix=dict(img=''), pipeline=PIPELINE))


def test_detections_with_an_annotation_file_without_categories(coco_copy):
    write_ann(coco_copy, lambda d: d.pop('categories'))
    dets = [dict(image_id=785, category_id=1, bbox=[280, 44, 218, 346],
                 score=0.9)]
    ds = build(coco_copy, test_mode=True, bbox_file=write_dets(coco_copy,
                                                               dets))
    assert len(ds) == 1


# ------------------------------------------ image sizes of the JSON file


@pytest.mark.parametrize('test_mode', [False, True])
def test_an_image_size_smaller_than_the_file_is_refused(coco_copy,
                                                        test_mode):
    """mmpose clips boxes to the JSON's size: 100 x 80 would clip 4 of the
    5 people of image 785 to nothing."""
    write_ann(coco_copy, lambda d: d['images'][0].update(width=100,
                                                         height=80))
    with pytest.raises(DataFileError) as err:
        build(coco_copy, test_mode=test_mode)
    assert str(err.value) == (
        f'annotation file {coco_copy / "test_coco.json"}: 1 problem(s): '
        f'image id 785 ({coco_copy / "000000000785.jpg"}): "width" x '
        '"height" is 100x80, the image file is 640x425 (mmpose clips boxes '
        "to the annotation file's size)")


def test_image_sizes_are_checked_for_detections_too(coco_copy):
    write_ann(coco_copy, lambda d: d['images'][0].update(width=425,
                                                         height=640))
    dets = [dict(image_id=785, category_id=1, bbox=[280, 44, 218, 346],
                 score=0.9)]
    with pytest.raises(DataFileError, match='image id 785 .* is 425x640, '
                       'the image file is 640x425'):
        build(coco_copy, test_mode=True,
              bbox_file=write_dets(coco_copy, dets))


def test_exif_rotated_jpeg_is_checked_as_it_decodes(coco_copy, exif_jpeg):
    """Orientation 6: stored 640 x 425, OpenCV decodes 425 x 640. The JSON
    may give either at build time; loading compares the decoded image."""
    (coco_copy / '000000000785.jpg').write_bytes(exif_jpeg(640, 425, 6))
    write_ann(coco_copy, lambda d: d['images'][0].update(width=425,
                                                         height=640))
    ds = build(coco_copy, test_mode=True)
    assert ds[info_index(ds, '785')]['inputs'].shape == (3, 64, 48)
    write_ann(coco_copy, lambda d: d['images'][0].update(width=640,
                                                         height=425))
    ds = build(coco_copy, test_mode=True)
    with pytest.raises(RuntimeError, match='annotation file gives 640x425 '
                       r'\(width x height\), the image decodes to 425x640'):
        ds[info_index(ds, '785')]
    ds = build(coco_copy)
    with pytest.warns(UserWarning, match='skipping unreadable image .*785'):
        assert '785' not in ds[info_index(ds, '785')][
            'data_samples'].img_path


# ------------------------------------------------ pixel budget of images


def test_the_checked_loading_step_replaces_load_image(coco_copy):
    pipeline = copy.deepcopy(PIPELINE)
    pipeline[0] = dict(type='LoadImage', to_float32=True)
    ds = build(coco_copy, pipeline=pipeline, max_image_pixels=10**6)
    load = ds.pipeline.transforms[0]
    assert type(load).__name__ == 'CheckedLoadImage'
    assert load.to_float32 and load.max_image_pixels == 10**6
    assert pipeline[0] == dict(type='LoadImage', to_float32=True)
    with pytest.raises(ValueError, match='CheckedCocoDataset: '
                       'CheckedLoadImage states max_image_pixels=5 but the '
                       'data set gives 10'):
        build(coco_copy, max_image_pixels=10, pipeline=[
            dict(type='CheckedLoadImage', max_image_pixels=5)])
    with pytest.raises(ValueError, match='max_pixels must be a positive'):
        build(coco_copy, max_image_pixels=0)


@pytest.mark.parametrize('test_mode', [True, False],
                         ids=['test mode', 'skipped when fitting'])
def test_an_image_over_the_pixel_budget_is_not_decoded(
        coco_copy, crafted_jpeg, test_mode):
    """A 600-byte JPEG claiming 12000 x 12000 (144 M pixels, over the
    default 2**27): the JSON agrees, so only the budget can stop it."""
    (coco_copy / '000000000785.jpg').write_bytes(crafted_jpeg(12000, 12000))
    write_ann(coco_copy, lambda d: d['images'][0].update(width=12000,
                                                         height=12000))
    ds = build(coco_copy, test_mode=test_mode)
    idx = info_index(ds, '785')
    words = re.escape(
        f'image {coco_copy / "000000000785.jpg"} (instance id {FIRST}): its '
        'JPEG header claims 12000x12000 = 144000000 pixels, over the budget '
        'of 134217728 pixels')
    if test_mode:
        with pytest.raises(RuntimeError, match='cannot read ' + words):
            ds[idx]
    else:
        with pytest.warns(UserWarning, match='skipping unreadable ' + words):
            assert '785' not in ds[idx]['data_samples'].img_path


def test_the_pixel_budget_is_configurable(coco_copy, monkeypatch):
    """The bundled images have 272000 pixels (640 x 425) at most."""
    ds = build(coco_copy, test_mode=True, max_image_pixels=200_000)
    with pytest.raises(RuntimeError, match='over the budget of 200000'):
        ds[info_index(ds, '785')]
    assert ds[info_index(ds, '40083')]  # 500 x 333 = 166500 pixels
    monkeypatch.setenv('SIMDR_MAX_IMAGE_PIXELS', '100000')
    ds = build(coco_copy, test_mode=True)
    with pytest.raises(RuntimeError, match='over the budget of 100000'):
        ds[0]
    ds = build(coco_copy, test_mode=True, max_image_pixels=300_000)
    assert ds[info_index(ds, '785')]['inputs'].shape == (3, 64, 48)
