"""prepare.py: every page leaves within the API limits, in the right encoding."""

from __future__ import annotations

import base64
import io
import random
from typing import cast

import numpy as np
import pytest
from PIL import Image

from pipeline.errors import PageSizeError
from pipeline.models import PageImage
from pipeline.prepare import DEFAULT_PAGE_LIMITS, PageLimits, fit_page
from pipeline.protocol.images import flatten
from pipeline.protocol.limits import MAX_SIDE
from tests.support.inputs import text_page


def fit(
    image: Image.Image, limits: PageLimits = DEFAULT_PAGE_LIMITS, dpi: float | None = 200
) -> PageImage:
    return fit_page(image, doc_key="a/b.pdf", index=3, dpi=dpi, limits=limits)


def decode(page: PageImage) -> Image.Image:
    image = Image.open(io.BytesIO(page.data))
    assert image.format == page.format.upper()
    assert image.size == (page.width, page.height)
    return image


def assert_within(page: PageImage, limits: PageLimits) -> None:
    assert min(page.width, page.height) >= limits.min_side
    assert max(page.width, page.height) <= min(max(limits.max_side, limits.min_side), MAX_SIDE)
    assert page.width * page.height <= limits.max_pixels
    assert len(base64.b64encode(page.data)) <= limits.max_b64_bytes


def grey_range(image: Image.Image) -> tuple[float, float]:
    return cast(tuple[float, float], image.convert("L").getextrema())


def noise(size: tuple[int, int], mode: str = "RGB", seed: int = 1) -> Image.Image:
    """Incompressible pixels: the worst case for the byte limit."""
    channels = {"RGB": 3, "L": 1}[mode]
    shape = (size[1], size[0], channels) if channels > 1 else (size[1], size[0])
    pixels = np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)
    return Image.fromarray(pixels)


def test_colour_page_goes_as_jpeg_unscaled() -> None:
    page = fit(text_page(["colour"], (1654, 2339)).convert("RGB"))
    assert (page.format, page.width, page.height) == ("jpeg", 1654, 2339)
    assert (page.source_width, page.source_height) == (1654, 2339)
    assert (page.doc_key, page.index, page.dpi) == ("a/b.pdf", 3, 200)
    assert decode(page).mode == "RGB"


def test_bitonal_scan_goes_as_lossless_1bit_png() -> None:
    scan = text_page(["bitonal"], (1024, 800)).convert("1")
    page = fit(scan)
    assert page.format == "png"
    image = decode(page)
    assert image.mode == "1" and image.tobytes() == scan.tobytes()
    jpeg = io.BytesIO()
    scan.convert("L").save(jpeg, "JPEG", quality=90)
    assert len(page.data) * 4 < len(jpeg.getvalue())  # why PNG: several times smaller


@pytest.mark.parametrize("mode", ["L", "P", "RGB"])
def test_two_colour_image_is_treated_as_bitonal(mode: str) -> None:
    scan = text_page(["two colours"], (600, 300)).point(lambda v: 0 if v < 128 else 255)
    page = fit(scan.convert(mode))
    assert page.format == "png"
    assert decode(page).mode == "1"


def test_grey_scan_goes_as_jpeg() -> None:
    page = fit(text_page(["grey"], (800, 600)))  # anti-aliased: many grey levels
    assert page.format == "jpeg"
    assert decode(page).mode == "L"


def test_transparent_background_is_composited_onto_white() -> None:
    rgba = Image.new("RGBA", (300, 100), (0, 0, 0, 0))  # transparent black
    rgba.paste((0, 0, 0, 255), (20, 20, 120, 80))  # opaque black "text"
    flat = flatten(rgba)
    assert flat.mode == "RGB"
    assert flat.getpixel((5, 5)) == (255, 255, 255)
    assert flat.getpixel((50, 50)) == (0, 0, 0)
    image = decode(fit(rgba)).convert("L")
    assert grey_range(image.crop((0, 0, 15, 15)))[0] >= 240  # background: white
    assert grey_range(image.crop((40, 40, 100, 60)))[1] <= 15  # text: black


def test_grey_alpha_and_palette_transparency() -> None:
    la = Image.new("LA", (50, 50), (0, 0))
    assert flatten(la).mode == "L" and flatten(la).getpixel((1, 1)) == 255
    palette = Image.new("P", (50, 50), 0)
    palette.putpalette([0, 0, 0, 255, 0, 0])
    palette.info["transparency"] = 0
    assert flatten(palette).getpixel((1, 1)) == (255, 255, 255)


def test_16_bit_grey_keeps_its_contrast() -> None:
    ramp = np.tile(np.linspace(0, 65535, 256).astype(np.uint16), (40, 1))
    flat = flatten(Image.fromarray(ramp))
    assert flat.mode == "L"
    assert flat.getextrema() == (0, 255)


def test_cmyk_becomes_rgb() -> None:
    cmyk = text_page(["print"], (300, 100)).convert("RGB").convert("CMYK")
    assert flatten(cmyk).mode == "RGB"
    assert decode(fit(cmyk)).mode == "RGB"


def test_blank_page_is_a_tiny_png() -> None:
    page = fit(Image.new("RGB", (1654, 2339), (255, 255, 255)))
    assert page.format == "png" and len(page.data) < 5_000


def test_too_small_is_an_error_not_an_upscale() -> None:
    with pytest.raises(PageSizeError) as caught:
        fit(Image.new("L", (10, 12), 255))
    assert str(caught.value) == "image is 10 x 12 px; the OCR API needs at least 15 px on each side"


def test_large_page_is_scaled_to_max_side() -> None:
    page = fit(noise((5000, 3000)), PageLimits(max_side=4096))
    assert (page.width, page.height) == (4096, 2457)
    assert (page.source_width, page.source_height) == (5000, 3000)
    assert page.dpi == 200  # the source raster's resolution, as given


def test_scaled_bitonal_page_becomes_grey_jpeg() -> None:
    page = fit(text_page(["big fax"], (3000, 2000)).convert("1"), PageLimits(max_side=1500))
    assert page.format == "jpeg" and (page.width, page.height) == (1500, 1000)


def test_pixel_limit() -> None:
    limits = PageLimits(max_side=30_000, max_pixels=1_000_000)
    page = fit(noise((2000, 2000), "L"), limits)
    assert_within(page, limits)
    assert page.width == page.height == 1000


def test_byte_limit_lowers_quality_then_size() -> None:
    limits = PageLimits(max_b64_bytes=400_000)
    page = fit(noise((1200, 1200)), limits)
    assert_within(page, limits)
    assert page.format == "jpeg" and page.width < 1200  # noise does not fit at any quality


def test_long_thin_strip_may_use_the_api_side_limit() -> None:
    page = fit(Image.new("L", (2_000, 20), 128), PageLimits(max_side=1024))
    assert min(page.width, page.height) >= 15 and page.width == 1500  # not 1024 x 10
    with pytest.raises(PageSizeError, match="too long and thin"):
        fit(Image.new("L", (2_000, 20), 128), PageLimits(max_side=1024, max_pixels=20_000))


def test_a_strip_beyond_1_to_100_is_refused_before_sending() -> None:
    fit(Image.new("L", (2_000, 20), 128))  # 1:100 is still a page
    for size in ((40_000, 20), (20, 2_020), (30_000, 15)):
        with pytest.raises(PageSizeError, match="more than 100 times the shorter"):
            fit(Image.new("L", size, 128))


def test_output_always_within_limits() -> None:
    rng = random.Random(7)
    limits = PageLimits(max_side=1024, max_pixels=600_000, max_b64_bytes=300_000)
    for case in range(25):
        width, height = rng.randint(15, 3000), rng.randint(15, 3000)
        mode = rng.choice(["1", "L", "RGB", "RGBA", "P", "noise"])
        if mode == "noise":
            image = noise((width, height), seed=case)
        else:
            image = text_page(["limits"], (width, height)).convert(mode)
        page = fit(image, limits)
        assert_within(page, limits)
        decode(page)
