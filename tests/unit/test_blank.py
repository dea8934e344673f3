"""Blank pages (issue 15): a near-uniform page is not sent; a page with anything printed
on it, however little, is."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from pipeline.blank import is_blank, is_blank_encoded
from pipeline.pagetag import make_page

A4_200DPI = (1654, 2339)


def noisy(size: tuple[int, int], level: int, sigma: float, seed: int = 1) -> Image.Image:
    rng = np.random.default_rng(seed)
    pixels = rng.normal(level, sigma, (size[1], size[0])).clip(0, 255).astype(np.uint8)
    return Image.fromarray(pixels, "L")


def encoded(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB" if fmt == "JPEG" else "L").save(buffer, fmt, quality=75)
    return buffer.getvalue()


@pytest.mark.parametrize("page", [
    Image.new("L", A4_200DPI, 255),
    Image.new("RGB", A4_200DPI, (246, 240, 225)),  # tinted paper
    noisy(A4_200DPI, 235, 6),  # scanner noise on off-white
    Image.new("L", (320, 160), 0),  # all black: nothing to read either
])
def test_uniform_pages_are_blank(page: Image.Image) -> None:
    assert is_blank(page)
    assert is_blank_encoded(encoded(page, "PNG"))
    assert is_blank_encoded(encoded(page, "JPEG"))


def test_specks_of_dust_do_not_make_a_page() -> None:
    page = noisy(A4_200DPI, 240, 4)
    draw = ImageDraw.Draw(page)
    for x, y in [(100, 200), (900, 1500), (1400, 2200)]:
        draw.ellipse((x, y, x + 2, y + 2), fill=30)
    assert is_blank(page)


@pytest.mark.parametrize("pixels", [14, 28])  # a 5- and a 10-point page number at 200 dpi
def test_one_printed_digit_is_not_blank(pixels: int) -> None:
    page = noisy(A4_200DPI, 240, 4)
    font = ImageFont.load_default(size=pixels)
    ImageDraw.Draw(page).text((800, 2250), "7", fill=20, font=font)
    assert not is_blank(page)
    assert not is_blank_encoded(encoded(page, "JPEG"))
    assert not is_blank_encoded(encoded(page, "PNG"))


def test_a_tagged_test_page_is_not_blank() -> None:
    assert not is_blank(make_page("doc0", (320, 160)))
