# Copyright (c) simdr_ext contributors. All rights reserved.
"""The rules for annotation and detection files, on the bundled real files
with one defect each."""
import copy
import json
import os.path as osp
import warnings

import pytest

from simdr_ext.datasets.data_files import (DataFileError,
                                           check_coco_annotations,
                                           check_mpii_annotations,
                                           read_detections, read_json_file)

DATA = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'data')
COCO_DETS = osp.join(DATA, 'coco', 'test_coco_det_AP_H_56.json')


def real(*parts):
    with open(osp.join(DATA, *parts)) as f:
        return json.load(f)


@pytest.mark.parametrize('name', ['dets.pkl', 'dets.json'])
def test_a_pickle_is_refused_and_its_code_does_not_run(tmp_path, name,
                                                       pickle_payload):
    path = tmp_path / name
    marker = pickle_payload(path)
    match = 'only JSON files' if name.endswith('.pkl') else 'is a pickle'
    with pytest.raises(DataFileError, match=match):
        read_detections(str(path))
    assert not marker.exists()


def test_json_content_is_required(tmp_path):
    path = tmp_path / 'dets.json'
    path.write_text('image_id,bbox,score\n785,1 2 3 4,0.9\n')
    with pytest.raises(DataFileError, match='dets.json: not valid JSON'):
        read_detections(str(path))
    with pytest.raises(FileNotFoundError, match='nothing.json'):
        read_json_file(str(tmp_path / 'nothing.json'), 'bbox file')


def test_bundled_detection_file_is_read_whole():
    dets = real('coco', 'test_coco_det_AP_H_56.json')
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # no entry is skipped
        usable = read_detections(COCO_DETS, {785, 40083, 196141, 197388})
    assert len(usable) == len(dets) == 118
    assert [d['bbox'] for d in usable] == [d['bbox'] for d in dets]


# one real entry of the bundled file, damaged one way per case; the rule's
# words the error must contain
GOOD_DET = real('coco', 'test_coco_det_AP_H_56.json')[0]
MALFORMED = [
    ('bbox of strings', dict(bbox=['277', '45', '225', '333']),
     '"bbox" must be a list of 4 numbers'),
    ('bbox a dict', dict(bbox=dict(x=277, y=45, w=225, h=333)),
     '"bbox" must be a list of 4 numbers'),
    ('bbox of 3 values', dict(bbox=[277, 45, 225]),
     '"bbox" must be a list of 4 numbers'),
    ('no bbox', dict(bbox=None), 'has no "bbox"'),
    ('no score', dict(score=None), 'has no "score"'),
    ('no image_id', dict(image_id=None), 'has no "image_id"'),
    ('score a string', dict(score='0.99'), '"score" must be a number'),
    ('score true', dict(score=True), '"score" must be a number'),
    ('image_id a string', dict(image_id='785'),
     '"image_id" must be an integer'),
    ('category_id a string', dict(category_id='person'),
     '"category_id" must be an integer'),
]


@pytest.mark.parametrize('case,change,words', MALFORMED,
                         ids=[c[0] for c in MALFORMED])
def test_a_malformed_detection_stops_naming_the_entry(tmp_path, case, change,
                                                      words):
    bad = dict(GOOD_DET, **change)
    for key in [k for k, v in change.items() if v is None]:
        del bad[key]
    path = tmp_path / 'dets.json'
    path.write_text(json.dumps([GOOD_DET, GOOD_DET, bad]))
    with pytest.raises(DataFileError) as err:
        read_detections(str(path))
    assert str(path) in str(err.value)
    assert 'entry 2: ' + words in str(err.value)


def test_a_file_that_is_not_a_list_stops(tmp_path):
    path = tmp_path / 'dets.json'
    path.write_text(json.dumps({'annotations': [GOOD_DET]}))
    with pytest.raises(DataFileError, match='must hold a JSON list'):
        read_detections(str(path))


# well formed but unusable: skipped and counted, by reason
UNUSABLE = [
    (dict(score=float('nan')), 'bad score'),
    (dict(score=float('inf')), 'bad score'),
    (dict(score=-0.5), 'bad score'),
    (dict(bbox=[277, 45, 0, 333]), 'bad box'),
    (dict(bbox=[277, 45, -225, 333]), 'bad box'),
    (dict(bbox=[277, float('nan'), 225, 333]), 'bad box'),
    (dict(category_id=2), 'not a person'),
    (dict(image_id=123456), 'unknown image'),
]


def test_unusable_detections_are_skipped_with_one_warning(tmp_path):
    path = tmp_path / 'dets.json'
    # json writes NaN / Infinity, as Python's json reads them
    path.write_text(
        json.dumps([GOOD_DET] + [dict(GOOD_DET, **c) for c, _ in UNUSABLE]))
    with pytest.warns(UserWarning) as record:
        usable = read_detections(str(path), {785})
    assert len(record) == 1
    assert str(record[0].message) == (
        f'{path}: skipped detections: 3 with bad box, 3 with bad score, '
        '1 with not a person, 1 with unknown image')
    assert usable == [
        dict(GOOD_DET, bbox=[float(v) for v in GOOD_DET['bbox']])
    ]


@pytest.mark.parametrize('entries', [[], [dict(GOOD_DET, category_id=2)]],
                         ids=['empty list', 'only another category'])
def test_no_usable_detection_warns_that_everyone_is_a_miss(tmp_path, entries):
    path = tmp_path / 'dets.json'
    path.write_text(json.dumps(entries))
    with pytest.warns(UserWarning, match='every person counts as a miss'):
        assert read_detections(str(path)) == []


# ---------------------------------------------------------------- COCO
COCO = real('coco', 'test_coco.json')
ANN = 442619  # the first annotation: image 785, 17 keypoints visible


def damaged(change):
    """test_coco.json with ``change(data, first_annotation)`` applied."""
    data = copy.deepcopy(COCO)
    change(data, data['annotations'][0])
    return data


BAD_COCO = [
    ('no keypoints', lambda d, a: a.pop('keypoints'),
     f'annotation id {ANN}: has no "keypoints"'),
    ('16 keypoints', lambda d, a: a.update(keypoints=a['keypoints'][:48]),
     f'annotation id {ANN}: "keypoints" has 16 keypoints, the data set has '
     '17'),
    ('18 keypoints', lambda d, a: a['keypoints'].extend([1, 2, 2]),
     f'annotation id {ANN}: "keypoints" has 18 keypoints'),
    ('not a multiple of 3', lambda d, a: a['keypoints'].pop(),
     f'annotation id {ANN}: "keypoints" has 50 values, not a multiple of 3'),
    ('a string keypoint', lambda d, a: a['keypoints'].__setitem__(4, '73'),
     f"annotation id {ANN}: \"keypoints\" value 4 is '73'"),
    ('a NaN keypoint', lambda d, a: a['keypoints'].__setitem__(
        0, float('nan')), f'annotation id {ANN}: "keypoints" value 0'),
    ('3-value bbox', lambda d, a: a.update(bbox=a['bbox'][:3]),
     f'annotation id {ANN}: "bbox" must be 4 finite numbers'),
    ('no bbox', lambda d, a: a.pop('bbox'), f'annotation id {ANN}: has no '
     '"bbox"'),
    ('unknown image', lambda d, a: a.update(image_id=1),
     f'annotation id {ANN}: "image_id" 1 is not in "images"'),
    ('duplicate annotation id', lambda d, a: a.update(
        id=d['annotations'][1]['id']),
     'annotation id 198196: listed twice'),
    ('duplicate image id', lambda d, a: d['images'][1].update(id=785),
     'image id 785: listed twice'),
    ('no images', lambda d, a: d.pop('images'), 'has no "images" list'),
    ('no annotations', lambda d, a: d.pop('annotations'),
     'has no "annotations" list'),
    ('empty annotations', lambda d, a: d.update(annotations=[]),
     'the "annotations" list is empty'),
    ('image without width', lambda d, a: d['images'][0].pop('width'),
     'image id 785: "width" must be a positive number'),
]


@pytest.mark.parametrize('case,change,words', BAD_COCO,
                         ids=[c[0] for c in BAD_COCO])
def test_a_bad_coco_file_is_refused_naming_id_and_rule(case, change, words):
    with pytest.raises(DataFileError) as err:
        check_coco_annotations(damaged(change), 'x/test_coco.json', 17)
    assert str(err.value).startswith('annotation file x/test_coco.json: ')
    assert words in str(err.value)


def test_the_bundled_annotation_files_pass():
    check_coco_annotations(COCO, 'test_coco.json', 17)
    check_coco_annotations(
        real('crowdpose', 'test_crowdpose.json'), 'test_crowdpose.json', 14)
    check_mpii_annotations(real('mpii', 'test_mpii.json'), 'test_mpii.json',
                           16)


def test_images_only_file_passes_when_detections_replace_annotations():
    data = damaged(lambda d, a: d.pop('annotations'))
    check_coco_annotations(data, 'image_info.json', 17,
                           need_annotations=False)


def test_problems_are_listed_together():
    def two(d, a):
        a['keypoints'].pop()
        d['annotations'][1]['bbox'] = [1, 2, 3]
    with pytest.raises(DataFileError, match='2 problem') as err:
        check_coco_annotations(damaged(two), 'test_coco.json', 17)
    assert f'annotation id {ANN}' in str(err.value)
    assert 'annotation id 198196' in str(err.value)


def test_at_most_ten_problems_are_shown():
    def twelve(d, a):
        d['images'][0]['width'] = 0  # 1 image problem
        for ann in d['annotations'][:11]:  # 11 annotation problems
            ann['bbox'] = ann['bbox'][:3]
    with pytest.raises(DataFileError) as err:
        check_coco_annotations(damaged(twelve), 'test_coco.json', 17)
    text = str(err.value)
    assert text.startswith('annotation file test_coco.json: 12 problem(s): ')
    assert text.endswith('; and 2 more')
    assert text.count('must be') == 10


# ---------------------------------------------------------------- MPII
MPII = real('mpii', 'test_mpii.json')
BAD_MPII = [
    ('15 joints', lambda a: a.update(joints=a['joints'][:15]),
     'annotation id 0: "joints" has 15 keypoints, the data set has 16'),
    ('a string joint', lambda a: a['joints'][3].__setitem__(0, 'x'),
     'annotation id 0: "joints" value 6 is \'x\''),
    ('17 visibilities', lambda a: a['joints_vis'].append(1),
     'annotation id 0: "joints_vis" has 17 keypoints'),
    ('no joints', lambda a: a.pop('joints'), 'annotation id 0: has no '
     '"joints"'),
    ('zero scale', lambda a: a.update(scale=0), 'annotation id 0: "scale" '
     'must be a positive number'),
    ('1-value center', lambda a: a.update(center=[966.0]),
     'annotation id 0: "center" must be 2 finite numbers'),
]


@pytest.mark.parametrize('case,change,words', BAD_MPII,
                         ids=[c[0] for c in BAD_MPII])
def test_a_bad_mpii_file_is_refused_naming_id_and_rule(case, change, words):
    data = copy.deepcopy(MPII)
    change(data[0])
    with pytest.raises(DataFileError) as err:
        check_mpii_annotations(data, 'x.json', 16)
    assert str(err.value).startswith('annotation file x.json: ')
    assert words in str(err.value)


def test_an_empty_mpii_list_is_refused():
    with pytest.raises(DataFileError, match='annotation list is empty'):
        check_mpii_annotations([], 'x.json', 16)


# ------------------------------------------- numbers that must fit, depth
HUGE_INT = 10**400  # legal JSON; float() of it raises OverflowError


def write_json_text(tmp_path, text, name='data.json'):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize('change,words', [
    (dict(bbox=[HUGE_INT, 45, 225, 333]), '"bbox" must be a list of 4 '
     'numbers (x, y, w, h) within float32 range, got [1000000000'),
    (dict(bbox=[277.0, 45.0, 1e300, 333.0]), '"bbox" must be a list of 4 '
     'numbers (x, y, w, h) within float32 range'),
    (dict(score=HUGE_INT), '"score" must be a number within float32 range'),
    (dict(score=-1e300), '"score" must be a number within float32 range'),
    (dict(image_id=HUGE_INT), '"image_id" must be an integer (int64)'),
    (dict(image_id=2**63), '"image_id" must be an integer (int64)'),
    (dict(category_id=HUGE_INT), '"category_id" must be an integer'),
    (dict(category_id='1'), '"category_id" must be an integer'),
], ids=['400-digit box', '1e300 box', '400-digit score', '-1e300 score',
        '400-digit image id', 'image id 2**63', '400-digit category',
        'category "1"'])
def test_detection_numbers_must_fit_float32_and_int64(tmp_path, change,
                                                      words):
    path = tmp_path / 'dets.json'
    path.write_text(json.dumps([GOOD_DET, dict(GOOD_DET, **change)]))
    with pytest.raises(DataFileError) as err:
        read_detections(str(path))
    assert str(err.value).startswith(f'bbox file {path}: 1 problem(s): '
                                     'entry 1: ' + words)
    assert len(str(err.value)) < 300, 'a 400-digit value is shown cut'


def test_a_box_whose_far_corner_overflows_float32_is_skipped(tmp_path):
    path = tmp_path / 'dets.json'
    path.write_text(json.dumps([GOOD_DET, dict(
        GOOD_DET, bbox=[3e38, 45.0, 3e38, 333.0])]))
    with pytest.warns(UserWarning, match='1 with bad box'):
        assert len(read_detections(str(path))) == 1


@pytest.mark.parametrize('depth', [100, 100_000], ids=['100', '100000'])
def test_deep_nesting_is_a_named_error(tmp_path, depth):
    """100 levels parse but would overflow copies and pickles later;
    100000 overflow the parser itself (RecursionError)."""
    path = write_json_text(tmp_path, '[' * depth + ']' * depth)
    with pytest.raises(DataFileError,
                       match=f'data file {path}: lists and objects nest '
                       'more than 64 levels deep'):
        read_json_file(path)


def test_nesting_up_to_the_limit_and_scalars_are_read(tmp_path):
    assert read_json_file(write_json_text(tmp_path, '[' * 64 + ']' * 64))
    assert read_json_file(write_json_text(tmp_path, '7', 'seven.json')) == 7
    assert read_json_file(write_json_text(tmp_path, 'null', 'n.json')) is None


BAD_NUMBERS = [
    ('400-digit keypoint', lambda d, a: a['keypoints'].__setitem__(
        0, HUGE_INT), f'annotation id {ANN}: "keypoints" value 0 is '
     '1000000000'),
    ('1e300 keypoint', lambda d, a: a['keypoints'].__setitem__(1, 1e300),
     f'annotation id {ANN}: "keypoints" value 1 is 1e+300, not a finite '
     'number within float32 range'),
    ('400-digit box', lambda d, a: a['bbox'].__setitem__(2, HUGE_INT),
     f'annotation id {ANN}: "bbox" must be 4 finite numbers (x, y, w, h) '
     'within float32 range'),
    ('400-digit annotation id', lambda d, a: a.update(id=HUGE_INT),
     'annotation entry 0: must be an object with an integer "id" (int64)'),
    ('400-digit image id', lambda d, a: d['images'][0].update(id=HUGE_INT),
     'image entry 0: must be an object with an integer "id" (int64)'),
    ('400-digit num_keypoints', lambda d, a: a.update(num_keypoints=HUGE_INT),
     f'annotation id {ANN}: "num_keypoints" must be an integer >= 0'),
    ('400-digit width', lambda d, a: d['images'][0].update(width=HUGE_INT),
     'image id 785: "width" must be a positive number'),
    ('infinite height', lambda d, a: d['images'][0].update(
        height=float('inf')), 'image id 785: "height" must be a positive '
     'number'),
    ('400-digit area', lambda d, a: a.update(area=HUGE_INT),
     f'annotation id {ANN}: "area" must be a finite number >= 0'),
    ('string area', lambda d, a: a.update(area='big'),
     f'annotation id {ANN}: "area" must be a finite number >= 0'),
    ('iscrowd 2', lambda d, a: a.update(iscrowd=2),
     f'annotation id {ANN}: "iscrowd" must be 0 or 1'),
    ('NaN crowdIndex', lambda d, a: d['images'][0].update(
        crowdIndex=float('nan')), 'image id 785: "crowdIndex" must be a '
     'finite number'),
]
CATEGORIES = [
    ('category_id "1"', lambda d, a: a.update(category_id='1'),
     f'annotation id {ANN}: "category_id" must be an integer (int64), got '
     "'1'"),
    ('category_id 1.0', lambda d, a: a.update(category_id=1.0),
     f'annotation id {ANN}: "category_id" must be an integer'),
    ('no category_id', lambda d, a: a.pop('category_id'),
     f'annotation id {ANN}: has no "category_id"'),
    ('unlisted category_id', lambda d, a: a.update(category_id=2),
     f'annotation id {ANN}: "category_id" 2 is not in "categories"'),
    ('category id "1"', lambda d, a: d['categories'][0].update(id='1'),
     'category entry 0: must be an object with an integer "id"'),
    ('categories an object', lambda d, a: d.update(categories={'id': 1}),
     '"categories" must be a list, got dict'),
]


@pytest.mark.parametrize('case,change,words', BAD_NUMBERS + CATEGORIES,
                         ids=[c[0] for c in BAD_NUMBERS + CATEGORIES])
def test_coco_numbers_and_categories_are_checked(case, change, words):
    with pytest.raises(DataFileError) as err:
        check_coco_annotations(damaged(change), 'x/test_coco.json', 17)
    assert str(err.value).startswith('annotation file x/test_coco.json: ')
    assert words in str(err.value)


def test_a_file_without_categories_is_read():
    """mmpose trains without them (COCO evaluation does not:
    test_checked_metric.py)."""
    check_coco_annotations(damaged(lambda d, a: d.pop('categories')),
                           'test_coco.json', 17)


MPII_NAMES = [
    ('not a number', 'image.jpg'), ('no stem', '.jpg'),
    ('400 digits', '9' * 400 + '.jpg'),
]


@pytest.mark.parametrize('case,name', MPII_NAMES,
                         ids=[c[0] for c in MPII_NAMES])
def test_mpii_image_names_must_hold_the_image_id(case, name):
    """mmpose's MPII set reads the image id as int(name up to the first
    '.'): a ValueError without the file's name otherwise."""
    data = copy.deepcopy(MPII)
    data[1]['image'] = name
    with pytest.raises(DataFileError, match='annotation id 1: "image" .* '
                       'must be named by an integer id'):
        check_mpii_annotations(data, 'x.json', 16)


def test_mpii_numbers_must_fit_float32():
    data = copy.deepcopy(MPII)
    data[0]['joints'][2][1] = HUGE_INT
    data[1]['scale'] = 1e300
    with pytest.raises(DataFileError) as err:
        check_mpii_annotations(data, 'x.json', 16)
    assert 'annotation id 0: "joints" value 5 is 1000' in str(err.value)
    assert 'annotation id 1: "scale" must be a positive number' in str(
        err.value)
