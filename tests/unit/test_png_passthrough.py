"""A plain PNG page is sent as it is (pipeline/png_header.py, page_worker.passthrough_png,
light_pages.py); anything else about it is decoded and fitted as before."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from pipeline.light_pages import inspect_here, prepare_here
from pipeline.page_worker import DEFAULT_SETTINGS, prepare_page
from pipeline.png_header import read_png_header
from pipeline.render import DocumentInfo


def page(mode: str, size: tuple[int, int] = (400, 300)) -> Image.Image:
    image = Image.new(mode, size, "white")
    ImageDraw.Draw(image).text((20, 20), "a line of text", fill="black", font_size=24)
    return image


def saved(path: Path, image: Image.Image, **options: object) -> Path:
    image.save(path, "PNG", **options)
    return path


@pytest.mark.parametrize("mode", ["1", "L", "RGB"])
def test_a_plain_png_is_sent_byte_for_byte_with_its_dpi(tmp_path: Path, mode: str) -> None:
    path = saved(tmp_path / "p.png", page(mode), dpi=(300, 300))
    prepared = prepare_page(str(path), "p.png", 0)
    assert prepared.format == "original" and prepared.data == path.read_bytes()
    assert (prepared.width, prepared.height) == (400, 300)
    assert prepared.dpi == pytest.approx(300, abs=0.1)


@pytest.mark.parametrize(("mode", "why"), [
    ("RGBA", "alpha"), ("P", "palette"), ("I;16", "16-bit grey"), ("LA", "grey + alpha"),
])
def test_a_png_that_is_not_plain_is_fitted(tmp_path: Path, mode: str, why: str) -> None:
    path = saved(tmp_path / "p.png", page("RGB").convert(mode))
    prepared = prepare_page(str(path), "p.png", 0)
    assert prepared.format in ("jpeg", "png"), why  # decoded and re-encoded


def test_transparency_exif_and_damage_are_left_to_the_decoder(tmp_path: Path) -> None:
    transparent = saved(tmp_path / "t.png", page("L"), transparency=255)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated: the decoder applies it
    rotated = saved(tmp_path / "r.png", page("L"), exif=exif.tobytes())
    for path in (transparent, rotated):
        header = read_png_header(path.read_bytes())
        assert header is not None and not header.plain
        assert prepare_page(str(path), path.name, 0).format != "original"
    data = bytearray(saved(tmp_path / "d.png", page("L")).read_bytes())
    data[60] ^= 0xFF  # a flipped byte: a chunk's CRC no longer matches
    assert read_png_header(bytes(data)) is None
    assert read_png_header(bytes(data[: len(data) // 2])) is None  # cut off before IEND


def test_a_large_png_is_reencoded(tmp_path: Path) -> None:
    noise = Image.frombytes("L", (1200, 1200), bytes(range(256)) * (1200 * 1200 // 256))
    path = saved(tmp_path / "big.png", noise.effect_spread(50))
    assert path.stat().st_size > 1 << 20
    assert prepare_page(str(path), "big.png", 0).format == "jpeg"


async def test_a_small_png_is_inspected_and_prepared_here(tmp_path: Path) -> None:
    path = saved(tmp_path / "p.png", page("L"))
    assert await inspect_here(str(path)) == DocumentInfo("image", 1)
    prepared = await prepare_here(str(path), "p.png", 0, DEFAULT_SETTINGS)
    assert isinstance(prepared, tuple)
    geometry, text = prepared
    assert base64.b64decode(text) == path.read_bytes()
    assert (geometry.image_width, geometry.image_height) == (400, 300)


async def test_other_files_go_to_a_worker(tmp_path: Path) -> None:
    rgba = saved(tmp_path / "a.png", page("RGBA"))
    assert await prepare_here(str(rgba), "a.png", 0, DEFAULT_SETTINGS) is None
    tiff = tmp_path / "t.tif"
    page("L").save(tiff)
    assert await inspect_here(str(tiff)) is None
    buffer = io.BytesIO()
    page("L").save(buffer, "PDF")
    pdf = tmp_path / "d.pdf"
    pdf.write_bytes(buffer.getvalue())
    assert await inspect_here(str(pdf)) is None
    assert await prepare_here(str(pdf), "d.pdf", 0, DEFAULT_SETTINGS) is None
