# Copyright (c) simdr_ext contributors. All rights reserved.
"""The pixel budget: sizes read from headers, refused before decoding."""
import os.path as osp
import struct
import subprocess
import sys
import textwrap
import zlib

import cv2
import numpy as np
import pytest

from simdr_runtime import (DEFAULT_MAX_PIXELS, ImageSizeError, check_pixels,
                           decode_image, header_size, max_image_pixels,
                           read_image)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BUNDLED = osp.join(REPO, 'tests', 'data', 'coco', '000000196141.jpg')
HUGE = 30000


def bundled_crop(w: int = 37, h: int = 23, channels: int = 3) -> np.ndarray:
    """An odd-sized (h, w, channels) crop of a bundled picture."""
    img = cv2.imread(BUNDLED, cv2.IMREAD_COLOR)[100:100 + h, 200:200 + w]
    if channels == 4:
        alpha = np.full((h, w, 1), 200, np.uint8)
        img = np.concatenate([img, alpha], axis=2)
    return np.ascontiguousarray(img)


def encode(ext: str, img: np.ndarray = None, params=()) -> bytes:
    ok, buf = cv2.imencode(ext, bundled_crop() if img is None else img,
                           list(params))
    assert ok
    return buf.tobytes()


def tiff(width: int, height: int, order: str = '<', big: bool = False,
         short: bool = True) -> bytes:
    """A one-strip uncompressed 8-bit grey TIFF (or BigTIFF) of a
    gradient, in byte order ``order``."""
    pixels = (np.arange(width * height) % 251).astype(np.uint8).tobytes()
    size_type = (3, 'H') if short else (4, 'I')
    entries = [(256, ) + size_type + (width, ),
               (257, ) + size_type + (height, ), (258, 3, 'H', 8),
               (259, 3, 'H', 1), (262, 3, 'H', 1), (273, 4, 'I', None),
               (277, 3, 'H', 1), (278, 4, 'I', height),
               (279, 4, 'I', len(pixels))]
    if big:
        head = struct.pack(order + '2sHHHQ', b'II' if order == '<' else b'MM',
                           43, 8, 0, 16)
        ifd_len = 8 + 20 * len(entries) + 8
    else:
        head = struct.pack(order + '2sHI', b'II' if order == '<' else b'MM',
                           42, 8)
        ifd_len = 2 + 12 * len(entries) + 4
    data_at = len(head) + ifd_len
    ifd = struct.pack(order + ('Q' if big else 'H'), len(entries))
    for tag, kind, fmt, value in entries:
        value = data_at if value is None else value
        field = struct.pack(order + fmt, value)
        field += b'\0' * ((8 if big else 4) - len(field))
        ifd += struct.pack(order + ('HHQ' if big else 'HHI'), tag, kind,
                           1) + field
    ifd += b'\0' * (8 if big else 4)
    return head + ifd + pixels


def gif_1x1() -> bytes:
    """The classic one-pixel GIF89a: a two-colour table, one LZW block."""
    return (b'GIF89a' + struct.pack('<HHBBB', 1, 1, 0x80, 0, 0) +
            b'\x00\x00\x00\xff\xff\xff' + b',' +
            struct.pack('<HHHHB', 0, 0, 1, 1, 0) + b'\x02\x02\x44\x01\x00;')


def huge_jpeg() -> bytes:
    """A real 8x8 JPEG whose frame header (SOF0) claims 30000x30000."""
    data = bytearray(encode('.jpg', bundled_crop(8, 8)))
    sof = data.index(b'\xff\xc0')
    data[sof + 5:sof + 9] = struct.pack('>HH', HUGE, HUGE)
    return bytes(data)


def huge_png() -> bytes:
    """A real 8x8 PNG whose IHDR (with a valid CRC) claims 30000x30000."""
    data = bytearray(encode('.png', bundled_crop(8, 8)))
    data[16:24] = struct.pack('>II', HUGE, HUGE)
    data[29:33] = struct.pack('>I', zlib.crc32(bytes(data[12:29])))
    return bytes(data)


@pytest.mark.parametrize('ext,params', [
    ('.jpg', ()),
    ('.jpg', (cv2.IMWRITE_JPEG_PROGRESSIVE, 1)),
    ('.png', ()),
    ('.bmp', ()),
    ('.webp', (cv2.IMWRITE_WEBP_QUALITY, 80)),
    ('.webp', (cv2.IMWRITE_WEBP_QUALITY, 101)),
    ('.tiff', ()),
    ('.ppm', ()),
    ('.ppm', (cv2.IMWRITE_PXM_BINARY, 0)),
    ('.pgm', ()),
    ('.pgm', (cv2.IMWRITE_PXM_BINARY, 0)),
    ('.pbm', ()),
    ('.pbm', (cv2.IMWRITE_PXM_BINARY, 0)),
])
def test_header_size_is_the_decoded_size(ext, params):
    img = bundled_crop()
    if ext in ('.pgm', '.pbm'):
        img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    data = encode(ext, img, params)
    img = decode_image(data, 'crop' + ext)
    assert img.dtype == np.uint8 and img.shape == (23, 37, 3)
    assert header_size(data) == (37, 23)
    assert check_pixels(data, 'crop' + ext) == (37, 23)


def test_header_size_of_the_bundled_jpeg_and_webp_chunks():
    with open(BUNDLED, 'rb') as f:
        data = f.read()
    h, w = cv2.imread(BUNDLED).shape[:2]
    assert header_size(data) == (w, h) == (640, 429)
    # lossy (VP8), lossless (VP8L) and extended (VP8X, with alpha) WebP
    for params, img, chunk in [
        ((cv2.IMWRITE_WEBP_QUALITY, 80), bundled_crop(), b'VP8 '),
        ((cv2.IMWRITE_WEBP_QUALITY, 101), bundled_crop(), b'VP8L'),
        ((cv2.IMWRITE_WEBP_QUALITY, 80), bundled_crop(channels=4), b'VP8X'),
    ]:
        data = encode('.webp', img, params)
        assert data[12:16] == chunk
        assert header_size(data) == (37, 23)
        assert decode_image(data, 'x.webp').shape == (23, 37, 3)


@pytest.mark.parametrize('order', ['<', '>'])
@pytest.mark.parametrize('big,short', [(False, True), (False, False),
                                       (True, False)])
def test_tiff_in_both_byte_orders(order, big, short):
    data = tiff(37, 23, order, big, short)
    assert header_size(data) == (37, 23)
    img = decode_image(data, 'x.tif')
    assert img.shape == (23, 37, 3)
    expected = (np.arange(37 * 23) % 251).astype(np.uint8).reshape(23, 37)
    np.testing.assert_array_equal(img[..., 0], expected)


def test_bmp_top_down_and_gif_and_pnm_comments():
    data = bytearray(encode('.bmp'))
    data[22:26] = struct.pack('<i', -23)
    assert header_size(bytes(data)) == (37, 23)
    assert decode_image(bytes(data), 'x.bmp').shape == (23, 37, 3)
    gif = gif_1x1()
    assert header_size(gif) == (1, 1)
    if cv2.haveImageReader('x.gif'):
        assert decode_image(gif, 'x.gif').shape == (1, 1, 3)
    pgm = b'P2\n# a comment 99 99\n3 # width\n2\n255\n1 2 3\n4 5 6\n'
    assert header_size(pgm) == (3, 2)
    np.testing.assert_array_equal(
        decode_image(pgm, 'x.pgm')[..., 0], [[1, 2, 3], [4, 5, 6]])


@pytest.mark.parametrize('make,fmt', [(huge_jpeg, 'JPEG'), (huge_png, 'PNG')])
def test_a_huge_claim_is_refused_before_decoding(make, fmt, tmp_path,
                                                 monkeypatch):
    data = make()
    assert len(data) < 1000
    assert header_size(data) == (HUGE, HUGE)
    path = tmp_path / f'bomb.{fmt.lower()}'
    path.write_bytes(data)
    calls = []
    monkeypatch.setattr(cv2, 'imdecode', lambda *a: calls.append(a))
    monkeypatch.setattr(cv2, 'imread', lambda *a: calls.append(a))
    with pytest.raises(ImageSizeError) as err:
        read_image(str(path))
    message = str(err.value)
    for part in (str(path), fmt, f'{HUGE}x{HUGE}', str(DEFAULT_MAX_PIXELS),
                 'max_pixels', 'SIMDR_MAX_IMAGE_PIXELS'):
        assert part in message
    with pytest.raises(ImageSizeError, match='in memory'):
        decode_image(data, 'in memory')
    assert not calls, 'OpenCV was called on an image over the budget'


def test_the_budget_argument_and_environment(tmp_path, monkeypatch):
    path = tmp_path / 'small.png'
    path.write_bytes(encode('.png'))
    monkeypatch.delenv('SIMDR_MAX_IMAGE_PIXELS', raising=False)
    assert max_image_pixels() == DEFAULT_MAX_PIXELS == 2**27
    assert read_image(str(path)).shape == (23, 37, 3)
    monkeypatch.setenv('SIMDR_MAX_IMAGE_PIXELS', str(37 * 23 - 1))
    assert max_image_pixels() == 37 * 23 - 1
    with pytest.raises(ImageSizeError, match='37x23 = 851 pixels, over the '
                       'budget of 850'):
        read_image(str(path))
    # the argument wins over the environment
    assert read_image(str(path), max_pixels=37 * 23).shape == (23, 37, 3)
    assert max_image_pixels(np.int64(5)) == 5
    for bad in ('0', '-3', 'lots', '1e9', '2.5'):
        monkeypatch.setenv('SIMDR_MAX_IMAGE_PIXELS', bad)
        with pytest.raises(ValueError, match='SIMDR_MAX_IMAGE_PIXELS'):
            max_image_pixels()
    monkeypatch.delenv('SIMDR_MAX_IMAGE_PIXELS')
    for bad in (0, -1, 2.5, True, '100'):
        with pytest.raises(ValueError, match='max_pixels must be a positive'):
            max_image_pixels(bad)


def test_an_empty_claim_and_an_unknown_format_are_refused():
    data = bytearray(encode('.png'))
    data[16:20] = b'\0\0\0\0'
    with pytest.raises(ImageSizeError, match=r'x.png: .*empty 0x23'):
        check_pixels(bytes(data), 'x.png')
    for junk in (b'', b'hello world', b'\0' * 64, b'RIFF\0\0\0\0AVI '):
        assert header_size(junk) is None
        with pytest.raises(ImageSizeError, match='junk.img: .*JPEG, PNG, '
                           'BMP, GIF, WebP, TIFF'):
            decode_image(junk, 'junk.img')


@pytest.mark.parametrize('make', [
    lambda: encode('.jpg'), lambda: encode('.png'), lambda: encode('.bmp'),
    lambda: encode('.webp', params=(cv2.IMWRITE_WEBP_QUALITY, 80)),
    lambda: encode('.webp', params=(cv2.IMWRITE_WEBP_QUALITY, 101)),
    lambda: encode('.webp', bundled_crop(channels=4)),
    lambda: tiff(5, 3), lambda: tiff(5, 3, '>', big=True),
    lambda: encode('.ppm'),
    lambda: encode('.pbm', bundled_crop()[..., 0]), gif_1x1
])
def test_truncated_headers_give_a_named_error(make):
    """Every prefix of a header: a size or ``None`` from ``header_size``,
    and from ``decode_image`` an image or a ``ValueError`` naming the
    file, never ``struct.error``/``IndexError`` or a hang."""
    data = make()
    full = header_size(data)
    assert full is not None
    first = None
    for n in range(min(len(data), 400) + 1):
        size = header_size(data[:n])
        assert size is None or size == full
        if size is not None and first is None:
            first = n
        if size is None:
            with pytest.raises(ImageSizeError, match='cut.img'):
                check_pixels(data[:n], 'cut.img')
    assert first is not None and first <= len(data)
    for n in range(first):
        with pytest.raises(ValueError, match='cut.img'):
            decode_image(data[:n], 'cut.img')


def test_corrupt_headers_never_crash_the_parser():
    """Random byte changes in the first bytes of every format: the parser
    answers ``None`` or a pair of ints, or the check names the file."""
    rng = np.random.default_rng(0)
    samples = [encode('.jpg'), encode('.png'), encode('.bmp'),
               encode('.webp'), tiff(4, 4), tiff(4, 4, '>', True),
               encode('.ppm'), gif_1x1(),
               b'\xff\xd8\xff\xe0\x00\x00', b'\xff\xd8\xff\xe0\x00\x01',
               b'\xff\xd8' + b'\xff' * 100, b'P6 ' + b'9' * 100]
    for data in samples:
        for _ in range(150):
            buf = bytearray(data[:96])
            for pos in rng.integers(0, len(buf), 3):
                buf[pos] = int(rng.integers(0, 256))
            size = header_size(bytes(buf))
            assert size is None or (isinstance(size[0], int)
                                    and isinstance(size[1], int))
            try:
                check_pixels(bytes(buf), 'fuzz.img', max_pixels=10**6)
            except ImageSizeError as err:
                assert 'fuzz.img' in str(err)


def test_an_opencv_error_names_the_file():
    """OpenCV's own size limit (width over 2**20) raises ``cv2.error``
    inside ``imdecode``; it comes back as a ``ValueError`` naming the
    image."""
    data = bytearray(encode('.png', bundled_crop(8, 1)))
    data[16:24] = struct.pack('>II', 2**20 + 8, 1)
    data[29:33] = struct.pack('>I', zlib.crc32(bytes(data[12:29])))
    with pytest.raises(ValueError, match='wide.png: not an image OpenCV can '
                       'decode'):
        decode_image(bytes(data), 'wide.png')


CHILD = textwrap.dedent('''
    import json, resource, sys
    from simdr_runtime import ImageSizeError, read_image
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    try:
        read_image(sys.argv[1])
        outcome = 'decoded'
    except ImageSizeError as err:
        outcome = str(err)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps(dict(outcome=outcome, before=before, peak=peak)))
''')
# Linux keeps the peak of the memory a process had before ``exec`` in its
# ``ru_maxrss``: the child is started by a small interpreter rather than by
# pytest, so that its figure is its own.
LAUNCHER = textwrap.dedent('''
    import subprocess, sys
    proc = subprocess.run([sys.executable, '-c'] + sys.argv[1:],
                          capture_output=True, text=True)
    sys.stdout.write(proc.stdout)
    sys.stderr.write(proc.stderr)
    sys.exit(proc.returncode)
''')


@pytest.mark.slow
@pytest.mark.parametrize('make', [huge_jpeg, huge_png])
def test_a_huge_claim_costs_no_memory(make, tmp_path):
    """In a fresh interpreter: refused, and the peak resident memory stays
    far below the 2.7 GB the claimed 30000x30000 BGR image would take."""
    import json
    path = tmp_path / 'bomb.img'
    path.write_bytes(make())
    proc = subprocess.run(
        [sys.executable, '-c', LAUNCHER, CHILD, str(path)],
        cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert f'{HUGE}x{HUGE}' in result['outcome'] and str(path) in \
        result['outcome']
    decoded = HUGE * HUGE * 3
    print(f'peak RSS {result["peak"] / 2**20:.0f} MiB (after the imports '
          f'{result["before"] / 2**20:.0f} MiB) against '
          f'{decoded / 2**20:.0f} MiB decoded')
    assert result['peak'] < decoded / 10
    assert result['peak'] - result['before'] < 2**25


def test_a_decoded_image_larger_than_its_header_is_refused(monkeypatch):
    """The budget holds for what the decoder returns, not only for what
    the header says."""
    data = encode('.png')
    monkeypatch.setattr(cv2, 'imdecode',
                        lambda *a: np.zeros((24, 37, 3), np.uint8))
    with pytest.raises(ImageSizeError, match='x.png: it decodes to 37x24 '
                       'pixels, more than the 37x23 of its header'):
        decode_image(data, 'x.png')
