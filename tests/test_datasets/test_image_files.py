# Copyright (c) simdr_ext contributors. All rights reserved.
"""Image sizes read from file headers for the annotation file check."""
import struct

import pytest

from simdr_ext.datasets.image_files import (decoded_sizes,
                                            image_size_problems,
                                            jpeg_orientation, read_header)


def with_app_block(jpeg: bytes, size: int) -> bytes:
    """``jpeg`` with an APP2 block of ``size`` bytes before its frame
    header (as large ICC profiles are)."""
    block = b'\xff\xe2' + struct.pack('>H', size + 2) + b'\0' * size
    return jpeg[:2] + block + jpeg[2:]


def test_the_header_is_found_after_large_blocks(tmp_path, crafted_jpeg):
    for size in (100, 20_000, 65_000):
        path = tmp_path / f'{size}.jpg'
        path.write_bytes(with_app_block(crafted_jpeg(321, 123), size))
        assert read_header(str(path))[0] == (321, 123), size


def test_an_unknown_header_gives_none(tmp_path):
    path = tmp_path / 'x.jpg'
    path.write_bytes(b'GIF8' + b'\0' * 10)
    assert read_header(str(path))[0] is None
    assert decoded_sizes(str(path)) is None
    assert image_size_problems([(str(path), 1, 10, 10)]) == []


@pytest.mark.parametrize('orientation', range(1, 9))
def test_exif_orientation_transposes_5_to_8(tmp_path, exif_jpeg,
                                            orientation):
    data = exif_jpeg(40, 20, orientation)
    assert jpeg_orientation(data) == orientation
    path = tmp_path / 'x.jpg'
    path.write_bytes(data)
    sizes = decoded_sizes(str(path))
    assert sizes == ([(40, 20), (20, 40)] if orientation >= 5 else
                     [(40, 20)])


def test_broken_exif_blocks_read_as_no_orientation(exif_jpeg):
    data = exif_jpeg(40, 20, 6)
    start = data.index(b'Exif\0\0') + 6
    for cut in (start + 2, start + 9, start + 14):
        assert jpeg_orientation(data[:cut]) == 1
    bad_offset = bytearray(data)
    bad_offset[start + 4:start + 8] = b'\xff\xff\xff\x00'
    assert jpeg_orientation(bytes(bad_offset)) == 1
    assert jpeg_orientation(b'\x89PNG\r\n\x1a\n') == 1


def test_size_problems_name_image_file_and_both_sizes(tmp_path,
                                                      crafted_jpeg):
    path = tmp_path / 'a.jpg'
    path.write_bytes(crafted_jpeg(640, 480))
    assert image_size_problems([(str(path), 7, 640, 480.0)]) == []
    assert image_size_problems([(str(path), 7, 480, 640)]) == [
        f'image id 7 ({path}): "width" x "height" is 480x640, the image '
        "file is 640x480 (mmpose clips boxes to the annotation file's "
        'size)'
    ]
