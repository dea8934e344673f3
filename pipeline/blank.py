"""Blank pages: a near-uniform image holds no text, so it is not sent to OCR.

A page is blank when almost none of its pixels stand out from the page's background
(its most frequent grey, from Pillow's histogram: no pixel array is built): at most
`MAX_INK_SHARE` of them (or a few specks) differ from it by more than `INK_CONTRAST` grey
levels. Paper tint, scanner noise and JPEG artefacts stay below that contrast; one
printed digit of 5 points or more does not (at 200 dpi it has some tens of dark pixels;
the allowance on an A4 page is about 20). A JPEG is decoded at a reduced scale, no more than
`CHECK_SIDE` pixels a side.

A PNG cannot be decoded at a reduced scale, and decoding a whole page only to find text
on it was most of the CPU a small PNG page cost (issue 15: about 6 ms of a 1240 x 1754
scan). Its rows are stored top to bottom, so its top `1 / TOP_SHARE` is decoded first (the
same file with a smaller height in its header, which Pillow decodes and stops): when that
strip alone holds more ink than the whole page may, whatever the page's background turns
out to be, the page is not blank, and the rest is never decoded. Otherwise (a blank page,
or a top margin taller than the strip) the whole page is decoded as before.
"""

from __future__ import annotations

import io
import itertools
import math
import struct
import zlib

from PIL import Image

from pipeline.png_header import SIGNATURE as PNG_SIGNATURE

INK_CONTRAST = 64
MAX_INK_SHARE = 5e-6
"""0.0005 %: about 20 pixels of an A4 page at 200 dpi (a 6-point digit has more)."""
MIN_INK_PIXELS = 4
CHECK_SIDE = 1400
TOP_SHARE = 8
"""A PNG's top eighth is decoded first (an A4 page's top 37 mm: its first lines of text)."""


def is_blank(image: Image.Image) -> bool:
    """True when the image is near-uniform: nothing on it for OCR to read."""
    histogram = _grey_histogram(image)
    total = sum(histogram)
    if total == 0:
        return True
    background = max(range(256), key=histogram.__getitem__)  # the paper's grey
    return _ink(histogram, background) <= ink_allowance(total)


def ink_allowance(pixels: int) -> float:
    """The most pixels standing out from the background that a blank page of `pixels` has."""
    return max(MIN_INK_PIXELS, MAX_INK_SHARE * pixels)


def _grey_histogram(image: Image.Image) -> list[int]:
    return (image if image.mode == "L" else image.convert("L")).histogram()


def _ink(histogram: list[int], background: int) -> int:
    return sum(histogram[: max(background - INK_CONTRAST, 0)]) + sum(
        histogram[background + INK_CONTRAST + 1:]
    )


def has_ink_whatever_background(histogram: list[int], allowance: float) -> bool:
    """True when part of a page (its `histogram`) already holds more ink than `allowance`
    for every background grey the whole page could have: adding the rest of the page's
    pixels only adds ink, so the whole page is not blank."""
    below = [0, *itertools.accumulate(histogram)]  # below[g]: pixels darker than g
    total = below[256]
    for background in range(256):
        light = total - below[min(background + INK_CONTRAST + 1, 256)]
        if below[max(background - INK_CONTRAST, 0)] + light <= allowance:
            return False
    return True


def is_blank_encoded(data: bytes) -> bool:
    """`is_blank` of an encoded page (PNG or JPEG, as prepared for sending). A JPEG is
    decoded at a reduced scale (its DCT draft mode), which costs a fraction of a full
    decode: first at 1/8, where a page of text already shows (its lines average to a
    grey far from the paper's), then, only if that looks blank, at up to `CHECK_SIDE`."""
    if data[:2] == b"\xff\xd8" and not _blank_jpeg(data, 8):
        return False
    if data.startswith(PNG_SIGNATURE) and _png_top_has_ink(data):
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


def _png_top_has_ink(data: bytes) -> bool:
    """Whether the top `1 / TOP_SHARE` of the PNG `data` alone makes the page not blank
    (see the module docstring). False when it cannot tell: the strip looks blank, the
    PNG is interlaced (its rows are not stored in order) or its header is not the first
    chunk (the full decode then says what is wrong)."""
    strip = _png_top(data)
    if strip is None:
        return False
    try:
        with Image.open(io.BytesIO(strip[0])) as image:
            histogram = _grey_histogram(image)
    except (OSError, SyntaxError, ValueError):  # Pillow's errors for a damaged file
        return False
    return has_ink_whatever_background(histogram, ink_allowance(strip[1]))


def _png_top(data: bytes) -> tuple[bytes, int] | None:
    """The PNG `data` with the height in its IHDR chunk cut to its top `1 / TOP_SHARE`
    (the chunk's CRC made anew), and the pixel count of the whole page; None when there
    is nothing to cut."""
    header = len(PNG_SIGNATURE)
    if len(data) < header + 25 or data[header:header + 8] != b"\x00\x00\x00\x0dIHDR":
        return None
    ihdr = bytearray(data[header + 8:header + 21])
    width, height = struct.unpack_from(">II", ihdr)
    rows = height // TOP_SHARE
    if ihdr[12] != 0 or rows < 1:  # interlaced (Adam7), or too short to cut
        return None
    struct.pack_into(">I", ihdr, 4, rows)
    crc = struct.pack(">I", zlib.crc32(ihdr, zlib.crc32(b"IHDR")))
    return data[:header + 8] + ihdr + crc + data[header + 25:], width * height
