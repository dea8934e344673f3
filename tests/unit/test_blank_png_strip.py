"""The PNG blank check decodes the page's top strip first (issue 15): its verdict is
always the whole page's, and a page with text at the top is never decoded whole."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from pipeline.blank import (
    INK_CONTRAST,
    TOP_SHARE,
    has_ink_whatever_background,
    ink_allowance,
    is_blank,
    is_blank_encoded,
)
from pipeline.light_pages import prepare_here
from pipeline.page_worker import DEFAULT_SETTINGS
from pipeline.triage import NoCall

SIZE = (1240, 1754)  # A4 at 150 dpi


def png(image: Image.Image, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", **params)
    return buffer.getvalue()


def text_at(y: int, background: int = 250, ink: int = 20) -> Image.Image:
    page = Image.new("L", SIZE, background)
    font = ImageFont.load_default(size=36)
    ImageDraw.Draw(page).text((120, y), "Page 1, line 1: some text", fill=ink, font=font)
    return page


def band(top: int, rest: int) -> Image.Image:
    """A page whose top strip is one grey and the rest another, nothing printed."""
    page = Image.new("L", SIZE, rest)
    ImageDraw.Draw(page).rectangle((0, 0, SIZE[0], SIZE[1] // TOP_SHARE), fill=top)
    return page


def noisy(level: int, sigma: float) -> Image.Image:
    rng = np.random.default_rng(7)
    pixels = rng.normal(level, sigma, (SIZE[1], SIZE[0])).clip(0, 255).astype(np.uint8)
    return Image.fromarray(pixels, "L")


PAGES = {
    "white": Image.new("L", SIZE, 255),
    "noise": noisy(235, 6),
    "text at the top": text_at(150),
    "text at the bottom": text_at(1650),
    "white text on black": text_at(150, background=0, ink=255),
    "dark header band": band(0, 255),
    "grey top, near-grey rest": band(150, 200),  # the strip's background is not the page's
    "grey top, far rest": band(150, 240),
    "digit in the top margin": text_at(20),
}


@pytest.mark.parametrize("name", PAGES)
@pytest.mark.parametrize("mode", ["L", "RGB", "P", "1"])
def test_the_verdict_is_the_whole_pages(name: str, mode: str) -> None:
    page = PAGES[name].convert(mode)
    assert is_blank_encoded(png(page)) == is_blank(page)


@pytest.mark.parametrize("name", PAGES)
def test_an_interlaced_png_is_decoded_whole(name: str) -> None:
    page = PAGES[name]
    assert is_blank_encoded(png(page, interlace=1)) == is_blank(page)


def test_a_page_with_text_at_the_top_is_not_decoded_whole() -> None:
    """Here the page's bottom half is missing (its last IDAT chunks cut, IEND kept): a
    full decode fails, the strip check still answers."""
    data = png(text_at(150), compress_level=0)  # stored blocks: many IDAT chunks
    chunks, offset = [], 8
    while offset < len(data):
        length = struct.unpack_from(">I", data, offset)[0]
        chunks.append(data[offset:offset + length + 12])
        offset += length + 12
    idat = [i for i, c in enumerate(chunks) if c[4:8] == b"IDAT"]
    assert len(idat) > 4
    dropped = set(idat[len(idat) // 2:])
    cut = data[:8] + b"".join(c for i, c in enumerate(chunks) if i not in dropped)
    with pytest.raises(OSError), Image.open(io.BytesIO(cut)) as image:
        image.load()
    assert not is_blank_encoded(cut)


def test_ink_counts_for_every_possible_background() -> None:
    strip = [0] * 256
    strip[150] = 1000  # the strip's own background
    strip[150 + INK_CONTRAST + 6] = 50  # ink against 150, not against a page background of 200
    assert not has_ink_whatever_background(strip, ink_allowance(SIZE[0] * SIZE[1]))
    strip[0] = 50  # dark against every background a page with this strip could have
    strip[255] = 50
    assert has_ink_whatever_background(strip, 40)


async def test_a_blank_light_page_is_not_sent(tmp_path: object) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path))
    blank, printed = folder / "blank.png", folder / "printed.png"
    blank.write_bytes(png(PAGES["white"]))
    printed.write_bytes(png(PAGES["text at the bottom"]))
    found = await prepare_here(str(blank), "blank.png", 0, DEFAULT_SETTINGS, blank_pages=True)
    assert isinstance(found, NoCall) and found.reason == "blank"
    assert found.page.result.blocks == ()
    sent = await prepare_here(str(printed), "printed.png", 0, DEFAULT_SETTINGS, blank_pages=True)
    assert isinstance(sent, tuple) and sent[0].image_width == SIZE[0]
    unchecked = await prepare_here(str(blank), "blank.png", 0, DEFAULT_SETTINGS)
    assert isinstance(unchecked, tuple)
