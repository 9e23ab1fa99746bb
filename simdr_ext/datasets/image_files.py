# Copyright (c) simdr_ext contributors. All rights reserved.
"""Image sizes from file headers, compared with an annotation file's.

mmpose clips every box to the ``width`` and ``height`` an annotation file
gives its image: a size smaller than the real one clips boxes to nothing
and their people are dropped. The checked data sets compare that size
with the one the image file's header claims
(:func:`simdr_runtime.image_size.header_size`, a few KiB read, nothing
decoded) when they are built.

OpenCV turns a JPEG by its EXIF orientation when it decodes it in colour
or grey (mmpose's default): orientations 5 to 8 swap width and height. For
such a JPEG the header's size and its transposition are both accepted
here; the loading step compares the decoded image with the annotation
file's size exactly (:class:`~simdr_ext.datasets.transforms.CheckedLoadImage`).
"""
import struct
from typing import Iterable, List, Optional, Tuple

from simdr_runtime.image_size import header_size

#: bytes read from the start of a file for its header, in turn, before the
#: whole file (a JPEG's frame header follows its EXIF and ICC blocks)
HEADER_READS = (4096, 65536)
Size = Tuple[int, int]


def read_header(path: str) -> Tuple[Optional[Size], bytes]:
    """The ``(width, height)`` an image file's header claims (``None`` if
    its header is not one :func:`header_size` reads: the loading step then
    reports the file), and the bytes read to find it."""
    data = b''
    with open(path, 'rb') as f:
        for size in HEADER_READS + (-1, ):
            more = f.read(size - len(data) if size > 0 else -1)
            data += more
            found = header_size(data)
            if found is not None or not more:
                break
    return found, data


def jpeg_orientation(data: bytes) -> int:
    """The EXIF orientation (1-8) of a JPEG's first APP1 Exif block, or 1
    (none, or not a JPEG)."""
    if data[:2] != b'\xff\xd8':
        return 1
    pos = 2
    try:
        while pos + 4 <= len(data) and data[pos] == 0xFF:
            marker = data[pos + 1]
            length, = struct.unpack_from('>H', data, pos + 2)
            frame = 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8,
                                                              0xCC)
            if frame or marker in (0xDA, 0xD9):
                return 1  # the frame header, pixel data or the end
            block = data[pos + 4:pos + 2 + length]
            if marker == 0xE1 and block[:6] == b'Exif\x00\x00':
                return _tiff_orientation(block[6:])
            pos += 2 + length
    except struct.error:
        pass
    return 1


def _tiff_orientation(tiff: bytes) -> int:
    """Tag 0x0112 of the first IFD of an EXIF TIFF block, or 1."""
    order = {b'II': '<', b'MM': '>'}.get(tiff[:2])
    if order is None:
        return 1
    offset, = struct.unpack_from(order + 'I', tiff, 4)
    count, = struct.unpack_from(order + 'H', tiff, offset)
    for i in range(count):
        tag, kind, _, value = struct.unpack_from(order + 'HHIH', tiff,
                                                 offset + 2 + 12 * i)
        if tag == 0x0112 and kind == 3:
            return value if 1 <= value <= 8 else 1
    return 1


def decoded_sizes(path: str) -> Optional[List[Size]]:
    """The ``(width, height)`` an image file may decode to: its header's
    size, and its transposition for a JPEG with an EXIF orientation of 5
    to 8; ``None`` if the header is not readable."""
    size, head = read_header(path)
    if size is None:
        return None
    if jpeg_orientation(head) >= 5:
        return [size, size[::-1]]
    return [size]


def image_size_problems(
        images: Iterable[Tuple[str, int, float, float]]) -> List[str]:
    """The images whose header size differs from the annotation file's.

    Args:
        images (Iterable[tuple]): ``(path, image id, width, height)`` of
            each image, the size as the annotation file gives it.

    Returns:
        list[str]: One problem per image: its id, file, and both sizes.
    """
    problems = []
    for path, img_id, width, height in images:
        sizes = decoded_sizes(path)
        if sizes is None or (width, height) in sizes:
            continue
        real = ' or '.join(f'{w}x{h}' for w, h in sizes)
        problems.append(
            f'image id {img_id} ({path}): "width" x "height" is '
            f'{width:g}x{height:g}, the image file is {real} (mmpose clips '
            'boxes to the annotation file\'s size)')
    return problems
