# Copyright (c) simdr_ext contributors. All rights reserved.
import io

import cv2
import numpy as np
import pytest


def jpeg_claiming(width: int, height: int) -> bytes:
    """A real 8 x 8 JPEG (about 600 bytes) whose frame header claims
    ``width`` x ``height``: a decoder would allocate the claimed image."""
    ok, buf = cv2.imencode('.jpg', np.full((8, 8, 3), 128, np.uint8))
    assert ok
    data = bytearray(buf.tobytes())
    sof = data.index(b'\xff\xc0')  # baseline frame header
    data[sof + 5:sof + 9] = height.to_bytes(2, 'big') + width.to_bytes(
        2, 'big')
    return bytes(data)


def jpeg_with_orientation(width: int, height: int, orientation: int) -> bytes:
    """A ``width`` x ``height`` JPEG (as stored) with an EXIF orientation:
    OpenCV decodes 5-8 transposed."""
    from PIL import Image
    image = Image.fromarray(np.full((height, width, 3), 100, np.uint8))
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    image.save(out, 'JPEG', exif=exif.tobytes())
    return out.getvalue()


@pytest.fixture
def crafted_jpeg():
    """``crafted_jpeg(width, height)``: see :func:`jpeg_claiming`."""
    return jpeg_claiming


@pytest.fixture
def exif_jpeg():
    """``exif_jpeg(width, height, orientation)``: see
    :func:`jpeg_with_orientation`."""
    return jpeg_with_orientation
