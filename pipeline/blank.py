"""Blank pages: a near-uniform image holds no text, so it is not sent to OCR.

A page is blank when almost none of its pixels stand out from the page's background
(its median grey): fewer than `MAX_INK_SHARE` of them (and at most a few specks) differ
from it by more than `INK_CONTRAST` grey levels. Paper tint, scanner noise and JPEG
artefacts stay below that contrast; one printed digit does not (at 200 dpi a digit is
some hundreds of dark pixels, 50 times the allowance on an A4 page). Large images are
looked at reduced to `CHECK_SIDE` pixels (Pillow's `reduce` averages blocks of at most
a few pixels, so a stroke keeps most of its contrast).
"""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image

INK_CONTRAST = 64
MAX_INK_SHARE = 2e-5
MIN_INK_PIXELS = 4
CHECK_SIDE = 1400


def is_blank(image: Image.Image) -> bool:
    """True when the image is near-uniform: nothing on it for OCR to read."""
    grey = image.convert("L")
    factor = math.ceil(max(grey.size) / CHECK_SIDE)
    if factor > 1:
        grey = grey.reduce(factor)
    pixels = np.asarray(grey, dtype=np.int16)
    if pixels.size == 0:
        return True
    background = int(np.median(pixels))
    ink = int(np.count_nonzero(np.abs(pixels - background) > INK_CONTRAST))
    return ink <= max(MIN_INK_PIXELS, MAX_INK_SHARE * pixels.size)


def is_blank_encoded(data: bytes) -> bool:
    """`is_blank` of an encoded page (PNG or JPEG, as prepared for sending); a JPEG is
    decoded at a reduced scale (its DCT draft mode), which costs a fraction of a full
    decode."""
    with Image.open(io.BytesIO(data)) as image:
        if image.format == "JPEG":
            width, height = image.size
            factor = max(1, math.ceil(max(width, height) / CHECK_SIDE))
            image.draft("L", (width // factor, height // factor))
        return is_blank(image)
