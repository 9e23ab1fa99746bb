# Copyright (c) simdr_ext contributors. All rights reserved.
"""Image sizes read from file headers, and a pixel budget checked before
any decoding.

A decoder allocates the image its header claims before reading the pixel
data, so a file of a few hundred bytes can claim 30000 x 30000 pixels and
cost gigabytes. :func:`decode_image` reads the claimed size first (JPEG,
PNG, BMP, GIF, WebP, TIFF and PNM headers, parsed with the standard
library only) and refuses images over :func:`max_image_pixels`, or whose
size cannot be read, before OpenCV sees the bytes.
"""
import operator
import os
import struct
from typing import Callable, Dict, Optional, Tuple

import cv2
import numpy as np

#: Default budget, about 134 megapixels (e.g. 16384 x 8192).
DEFAULT_MAX_PIXELS = 2**27
#: Environment variable that overrides :data:`DEFAULT_MAX_PIXELS`.
MAX_PIXELS_ENV = 'SIMDR_MAX_IMAGE_PIXELS'
#: The formats whose size :func:`header_size` reads.
FORMATS = ('JPEG', 'PNG', 'BMP', 'GIF', 'WebP', 'TIFF', 'PNM (P1-P6)')

Size = Tuple[int, int]


class ImageSizeError(ValueError):
    """An image over the pixel budget, or whose size cannot be read from
    its header before decoding."""


class _Truncated(Exception):
    """A recognised header that ends, or breaks, before its size."""


def max_image_pixels(max_pixels: Optional[int] = None) -> int:
    """The pixel budget: ``max_pixels``, else the environment variable
    ``SIMDR_MAX_IMAGE_PIXELS``, else :data:`DEFAULT_MAX_PIXELS`.

    Args:
        max_pixels (int, optional): An explicit budget (> 0).

    Returns:
        int: The budget, a positive integer.
    """
    if max_pixels is not None:
        if isinstance(max_pixels, bool):
            raise ValueError('max_pixels must be a positive integer, got '
                             f'{max_pixels!r}')
        try:
            value = operator.index(max_pixels)
        except TypeError:
            raise ValueError('max_pixels must be a positive integer, got '
                             f'{max_pixels!r}') from None
        if value <= 0:
            raise ValueError('max_pixels must be a positive integer, got '
                             f'{max_pixels!r}')
        return value
    text = os.environ.get(MAX_PIXELS_ENV)
    if text is None or not text.strip():
        return DEFAULT_MAX_PIXELS
    text = text.strip()
    if not text.isascii() or not text.isdigit() or int(text) <= 0:
        raise ValueError(f'the environment variable {MAX_PIXELS_ENV} must be '
                         f'a positive integer (pixels), got {text!r}')
    return int(text)


def _unpack(fmt: str, data: bytes, offset: int) -> tuple:
    """``struct.unpack_from`` that raises :class:`_Truncated` past the
    end (or before the start) of ``data``."""
    if offset < 0 or offset + struct.calcsize(fmt) > len(data):
        raise _Truncated
    return struct.unpack_from(fmt, data, offset)


#: JPEG start-of-frame markers (baseline, extended, progressive, lossless,
#: hierarchical, arithmetic): not DHT (C4), JPG (C8) or DAC (CC).
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
#: JPEG markers without a length field.
_STANDALONE = frozenset(range(0xD0, 0xD9)) | {0x01}


def _jpeg(data: bytes) -> Size:
    """Marker by marker to the first SOFn, as libjpeg's reader: bytes
    before a marker are skipped, and so are fill bytes 0xFF."""
    pos = 2
    n = len(data)
    while True:
        while pos < n and data[pos] != 0xFF:
            pos += 1
        while pos < n and data[pos] == 0xFF:
            pos += 1
        if pos >= n:
            raise _Truncated
        marker = data[pos]
        pos += 1
        if marker in _STANDALONE or marker == 0x00:
            continue
        if marker in (0xD9, 0xDA):
            # end of image, or pixel data, before any frame header
            raise _Truncated
        length, = _unpack('>H', data, pos)
        if length < 2:
            raise _Truncated
        if marker in _SOF:
            if length < 8:
                raise _Truncated
            height, width = _unpack('>HH', data, pos + 3)
            return width, height
        pos += length


def _png(data: bytes) -> Size:
    """The IHDR chunk, which must come first."""
    if data[12:16] != b'IHDR':
        raise _Truncated
    return _unpack('>II', data, 16)


def _bmp(data: bytes) -> Size:
    """The DIB header after the 14-byte file header."""
    header, = _unpack('<I', data, 14)
    if header == 12:
        return _unpack('<HH', data, 18)
    if header < 16:
        raise _Truncated
    width, height = _unpack('<ii', data, 18)
    return abs(width), abs(height)


def _gif(data: bytes) -> Size:
    """The logical screen size."""
    return _unpack('<HH', data, 6)


def _webp(data: bytes) -> Size:
    """The first chunk: VP8 (lossy), VP8L (lossless) or VP8X (extended)."""
    chunk = data[12:16]
    if chunk == b'VP8 ':
        if data[23:26] != b'\x9d\x01\x2a':
            raise _Truncated
        width, height = _unpack('<HH', data, 26)
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b'VP8L':
        signature, bits = _unpack('<BI', data, 20)
        if signature != 0x2F:
            raise _Truncated
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b'VP8X':
        raw = data[24:30]
        if len(raw) < 6:
            raise _Truncated
        return (int.from_bytes(raw[:3], 'little') + 1,
                int.from_bytes(raw[3:], 'little') + 1)
    raise _Truncated


#: TIFF field types that can hold a size: SHORT, LONG, LONG8.
_TIFF_TYPES = {3: 'H', 4: 'I', 16: 'Q'}


def _tiff(data: bytes) -> Size:
    """ImageWidth (256) and ImageLength (257) of the first IFD, classic
    TIFF or BigTIFF, either byte order."""
    order = '<' if data[:2] == b'II' else '>'
    version, = _unpack(order + 'H', data, 2)
    if version == 42:
        offset, = _unpack(order + 'I', data, 4)
        count_fmt, entry, value_at = 'H', 12, 8
    else:
        size, _, offset = _unpack(order + 'HHQ', data, 4)
        if size != 8:
            raise _Truncated
        count_fmt, entry, value_at = 'Q', 20, 12
    count, = _unpack(order + count_fmt, data, offset)
    start = offset + struct.calcsize(count_fmt)
    if start + count * entry > len(data):
        raise _Truncated
    found: Dict[int, int] = {}
    for i in range(count):
        pos = start + i * entry
        tag, kind = _unpack(order + 'HH', data, pos)
        if tag in (256, 257) and tag not in found:
            if kind not in _TIFF_TYPES:
                raise _Truncated
            found[tag], = _unpack(order + _TIFF_TYPES[kind], data,
                                  pos + value_at)
    if len(found) != 2:
        raise _Truncated
    return found[256], found[257]


def _pnm(data: bytes) -> Size:
    """Width and height, the first two decimal fields after the magic
    number (whitespace separated, ``#`` comments to the end of a line)."""
    values = []
    pos, n = 2, len(data)
    while len(values) < 2:
        if pos >= n:
            raise _Truncated
        char = data[pos:pos + 1]
        if char.isspace():
            pos += 1
        elif char == b'#':
            end = data.find(b'\n', pos)
            end2 = data.find(b'\r', pos)
            ends = [e for e in (end, end2) if e >= 0]
            if not ends:
                raise _Truncated
            pos = min(ends) + 1
        elif char.isdigit():
            start = pos
            while pos < n and data[pos:pos + 1].isdigit():
                pos += 1
            if pos - start > 20 or pos >= n:
                # too long, or cut: '37 2' may be the start of '37 23'
                raise _Truncated
            values.append(int(data[start:pos]))
        else:
            raise _Truncated
    return values[0], values[1]


def _is_pnm(data: bytes) -> bool:
    return (len(data) >= 3 and data[:1] == b'P' and data[1:2] in b'123456'
            and data[2:3].isspace())


#: (format name, recogniser, size reader), tried in order.
_READERS: Tuple[Tuple[str, Callable[[bytes], bool], Callable[[bytes], Size]],
                ...] = (
    ('JPEG', lambda d: d[:2] == b'\xff\xd8', _jpeg),
    ('PNG', lambda d: d[:8] == b'\x89PNG\r\n\x1a\n', _png),
    ('BMP', lambda d: d[:2] == b'BM', _bmp),
    ('GIF', lambda d: d[:6] in (b'GIF87a', b'GIF89a'), _gif),
    ('WebP', lambda d: d[:4] == b'RIFF' and d[8:12] == b'WEBP', _webp),
    ('TIFF', lambda d: d[:4] in (b'II*\x00', b'MM\x00*', b'II+\x00',
                                 b'MM\x00+'), _tiff),
    ('PNM', _is_pnm, _pnm),
)


def _probe(data: bytes) -> Tuple[Optional[str], Optional[Size]]:
    """The format of ``data`` (``None``: none of :data:`FORMATS`) and the
    size its header claims (``None``: the header ends or breaks first)."""
    for fmt, matches, read in _READERS:
        if matches(data):
            try:
                width, height = read(data)
            except _Truncated:
                return fmt, None
            return fmt, (int(width), int(height))
    return None, None


def header_size(data: bytes) -> Optional[Size]:
    """The size an image file's header claims, without decoding.

    Args:
        data (bytes): The file's bytes (the header is enough).

    Returns:
        tuple | None: ``(width, height)``, or ``None`` for a header that
        is not JPEG (SOFn), PNG (IHDR), BMP, GIF, WebP (VP8, VP8L, VP8X),
        TIFF (either byte order, or BigTIFF) or PNM (P1-P6), or that ends
        or breaks before the size.
    """
    return _probe(bytes(data))[1]


def check_pixels(data: bytes,
                 name: str,
                 max_pixels: Optional[int] = None) -> Size:
    """The claimed size of an image file, checked against the budget.

    Args:
        data (bytes): The file's bytes.
        name (str): The file, for the errors.
        max_pixels (int, optional): The budget; ``None``: see
            :func:`max_image_pixels`.

    Returns:
        tuple: ``(width, height)``.

    Raises:
        ImageSizeError: The size cannot be read from the header, is
            empty, or ``width * height`` is over the budget.
    """
    budget = max_image_pixels(max_pixels)
    fmt, size = _probe(bytes(data))
    if fmt is None:
        raise ImageSizeError(
            f'cannot read image {name}: its size cannot be read from its '
            'header, so it is not decoded (sizes are read from '
            f'{", ".join(FORMATS)} headers; this is none of them)')
    if size is None:
        raise ImageSizeError(
            f'cannot read image {name}: its {fmt} header ends or is corrupt '
            'before the image size, so it is not decoded')
    width, height = size
    if width <= 0 or height <= 0:
        raise ImageSizeError(
            f'cannot read image {name}: its {fmt} header claims an empty '
            f'{width}x{height} image')
    if width * height > budget:
        raise ImageSizeError(
            f'cannot read image {name}: its {fmt} header claims '
            f'{width}x{height} = {width * height} pixels, over the budget '
            f'of {budget} pixels; to allow it, pass a larger max_pixels or '
            f'set the environment variable {MAX_PIXELS_ENV}')
    return width, height


def decode_image(data: bytes,
                 name: str,
                 max_pixels: Optional[int] = None) -> np.ndarray:
    """Decode an image file's bytes, within the pixel budget.

    Args:
        data (bytes): The file's bytes.
        name (str): The file, for the errors.
        max_pixels (int, optional): The budget; ``None``: see
            :func:`max_image_pixels`.

    Returns:
        np.ndarray: BGR uint8 image in shape (H, W, 3).

    Raises:
        ImageSizeError: See :func:`check_pixels`.
        ValueError: OpenCV cannot decode the bytes.
    """
    data = bytes(data)
    width, height = check_pixels(data, name, max_pixels)
    try:
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    except cv2.error as err:
        reason = str(err).strip().splitlines()[-1] if str(err).strip() \
            else 'OpenCV error'
        raise ValueError(f'cannot read image {name}: not an image OpenCV '
                         'can decode (corrupt or unknown format): '
                         f'{reason}') from None
    if img is None or img.ndim != 3 or img.shape[2] != 3 or img.size == 0:
        raise ValueError(f'cannot read image {name}: not an image OpenCV '
                         'can decode (corrupt or unknown format)')
    if img.shape[0] * img.shape[1] > width * height:
        raise ImageSizeError(
            f'cannot read image {name}: it decodes to {img.shape[1]}x'
            f'{img.shape[0]} pixels, more than the {width}x{height} of its '
            'header')
    return img


__all__ = [
    'DEFAULT_MAX_PIXELS', 'MAX_PIXELS_ENV', 'ImageSizeError',
    'max_image_pixels', 'header_size', 'check_pixels', 'decode_image'
]
