"""A machine-readable tag painted on a test page, so that a fake OCR engine can answer each
page with text derived from that page's own content (STYLE.md point 15).

    page = make_page("inv7-p2")          # a PIL image: a grid of black/white cells + text
    read_tag(page) == "inv7-p2"          # also after JPEG, PNG, scaling, a PDF round trip
    page_text(page) == "page inv7-p2"    # what the fakes answer ("page #<hash>" untagged)

The tag is a grid of GRID_COLUMNS x GRID_ROWS large cells, one bit each, spanning a fixed
fraction of the page (TAG_BOX): it scales with the page, so any rendering resolution or
fit-to-limits resize reads the same. The bits are a magic byte, the length, the ASCII
text (at most MAX_TAG_LENGTH characters, zero-padded) and a CRC-8, so a page without a
tag reads as None rather than as noise. The reader samples the middle of each cell and
thresholds at mid-grey, which JPEG ringing and anti-aliasing do not cross.

A leaf module (Pillow and numpy only): the testing kit and the service's scripted engine
both read tags through it (see the import-linter contracts in pyproject.toml).
"""

from __future__ import annotations

import hashlib
import io

import numpy as np
from PIL import Image, ImageDraw, ImageFont

GRID_COLUMNS = 16
GRID_ROWS = 8
MAX_TAG_LENGTH = GRID_COLUMNS * GRID_ROWS // 8 - 3
"""13: the grid's 16 bytes less the magic byte, the length and the checksum."""
TAG_BOX = (0.04, 0.04, 0.96, 0.52)
"""The grid's left, top, right and bottom edges, as fractions of the page's size."""
_MAGIC = 0xA5


def make_page(
    tag: str, size: tuple[int, int] = (640, 480), *, text: str | None = None
) -> Image.Image:
    """A white greyscale page carrying `tag` as a cell grid, with `text` (default: the
    tag) written below it for people and real OCR engines."""
    if size[0] < 2 * GRID_COLUMNS * 4 or size[1] < 2 * GRID_ROWS * 4:
        raise ValueError(f"a tagged page needs at least {8 * GRID_COLUMNS} x {8 * GRID_ROWS} px")
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    bits = _bits(tag)
    for row, column in _cells():
        if bits[row * GRID_COLUMNS + column]:
            draw.rectangle(_cell_box(size, row, column), fill=0)
    font = ImageFont.load_default(size=max(12, size[1] // 12))
    draw.text((size[0] * TAG_BOX[0], size[1] * 0.62), text if text is not None else tag,
              fill=0, font=font)
    return image


def read_tag(image: Image.Image) -> str | None:
    """The tag painted by `make_page`, or None when the page carries none."""
    grey = np.asarray(image.convert("L"), dtype=np.uint8)
    height, width = grey.shape
    bits = []
    for row, column in _cells():
        left, top, right, bottom = _cell_box((width, height), row, column)
        # the middle half of the cell: edges blur under scaling and JPEG
        dx, dy = (right - left) / 4, (bottom - top) / 4
        patch = grey[int(top + dy): max(int(bottom - dy), int(top + dy) + 1),
                     int(left + dx): max(int(right - dx), int(left + dx) + 1)]
        if patch.size == 0:
            return None
        bits.append(float(patch.mean()) < 128)
    data = bytes(
        sum(bit << (7 - i) for i, bit in enumerate(bits[n: n + 8]))
        for n in range(0, len(bits), 8)
    )
    if data[0] != _MAGIC or data[1] > MAX_TAG_LENGTH or _crc8(data[:-1]) != data[-1]:
        return None
    try:
        return data[2: 2 + data[1]].decode("ascii")
    except UnicodeDecodeError:
        return None


def page_text(image: Image.Image) -> str:
    """What a fake OCR engine answers for `image`: "page <tag>", or "page #<hash>" of its
    pixels when it carries no tag."""
    tag = read_tag(image)
    if tag is not None:
        return f"page {tag}"
    return "page #" + hashlib.sha256(image.tobytes()).hexdigest()[:12]


def page_text_of_bytes(data: bytes) -> str:
    """`page_text` of an encoded image (its first frame); "page #<hash>" of the bytes
    themselves when they are not an image Pillow reads."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            return page_text(image)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return "page #" + hashlib.sha256(data).hexdigest()[:12]


def _bits(tag: str) -> list[bool]:
    raw = tag.encode("ascii")
    if len(raw) > MAX_TAG_LENGTH:
        raise ValueError(f"a page tag holds at most {MAX_TAG_LENGTH} ASCII characters: {tag!r}")
    payload = bytes([_MAGIC, len(raw)]) + raw.ljust(MAX_TAG_LENGTH, b"\0")
    data = payload + bytes([_crc8(payload)])
    return [bool(byte >> (7 - i) & 1) for byte in data for i in range(8)]


def _cells() -> list[tuple[int, int]]:
    return [(row, column) for row in range(GRID_ROWS) for column in range(GRID_COLUMNS)]


def _cell_box(size: tuple[int, int], row: int, column: int) -> tuple[float, float, float, float]:
    width, height = size
    left, top, right, bottom = TAG_BOX
    cell_w = (right - left) * width / GRID_COLUMNS
    cell_h = (bottom - top) * height / GRID_ROWS
    x, y = left * width + column * cell_w, top * height + row * cell_h
    return x, y, x + cell_w - 1, y + cell_h - 1


def _crc8(data: bytes) -> int:
    """CRC-8 (polynomial 0x07)."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc
