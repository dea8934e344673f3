"""Blank pages: a near-uniform image holds no text, so it is not sent to OCR.

A page is blank when almost none of its pixels stand out from the page's background
(its most frequent grey, from Pillow's histogram: no pixel array is built): at most
`MAX_INK_SHARE` of them (or a few specks) differ from it by more than `INK_CONTRAST` grey
levels. Paper tint, scanner noise and JPEG artefacts stay below that contrast; one
printed digit of 5 points or more does not (at 200 dpi it has some tens of dark pixels;
the allowance on an A4 page is about 20). A JPEG is decoded at a reduced scale, no more than
`CHECK_SIDE` pixels a side.
"""

from __future__ import annotations

import io
import math

from PIL import Image

INK_CONTRAST = 64
MAX_INK_SHARE = 5e-6
"""0.0005 %: about 20 pixels of an A4 page at 200 dpi (a 6-point digit has more)."""
MIN_INK_PIXELS = 4
CHECK_SIDE = 1400


def is_blank(image: Image.Image) -> bool:
    """True when the image is near-uniform: nothing on it for OCR to read."""
    grey = image if image.mode == "L" else image.convert("L")
    histogram = grey.histogram()
    total = sum(histogram)
    if total == 0:
        return True
    background = max(range(256), key=histogram.__getitem__)  # the paper's grey
    ink = sum(histogram[: max(background - INK_CONTRAST, 0)]) + sum(
        histogram[background + INK_CONTRAST + 1:]
    )
    return ink <= max(MIN_INK_PIXELS, MAX_INK_SHARE * total)


def is_blank_encoded(data: bytes) -> bool:
    """`is_blank` of an encoded page (PNG or JPEG, as prepared for sending). A JPEG is
    decoded at a reduced scale (its DCT draft mode), which costs a fraction of a full
    decode: first at 1/8, where a page of text already shows (its lines average to a
    grey far from the paper's), then, only if that looks blank, at up to `CHECK_SIDE`."""
    if data[:2] == b"\xff\xd8" and not _blank_jpeg(data, 8):
        return False
    with Image.open(io.BytesIO(data)) as image:
        if image.format == "JPEG":
            width, height = image.size
            factor = max(1, math.ceil(max(width, height) / CHECK_SIDE))
            image.draft("L", (width // factor, height // factor))
        return is_blank(image)


def _blank_jpeg(data: bytes, factor: int) -> bool:
    with Image.open(io.BytesIO(data)) as image:
        width, height = image.size
        image.draft("L", (max(width // factor, 1), max(height // factor, 1)))
        return is_blank(image)
