"""render.py: sniffing, page counts, PDF rasterizers, images, and the bad files a batch meets."""

from __future__ import annotations

import io
import resource
import time
from pathlib import Path
from typing import cast

import pypdfium2 as pdfium
import pytest
from PIL import Image

from pipeline.errors import (
    ConfigError,
    CorruptDocument,
    DocumentError,
    EmptyDocument,
    EncryptedDocument,
    PageSizeError,
    UnsupportedDocument,
)
from pipeline.render import (
    RASTERIZERS,
    RENDER_MAX_PIXELS,
    RENDER_MAX_SIDE,
    DocumentInfo,
    capped_scale,
    inspect_document,
    render_page,
    sniff_format,
)
from tests.support.inputs import encrypted_pdf, giant_png, text_page, text_pdf


def sizes_pdf(path: Path, sizes: list[tuple[int, int]]) -> Path:
    """A PDF whose pages have the given pixel sizes at 100 dpi (so 0.72 pt per pixel)."""
    pages = [text_page([f"page {i + 1}"], size).convert("RGB") for i, size in enumerate(sizes)]
    pages[0].save(path, "PDF", resolution=100.0, save_all=True, append_images=pages[1:])
    return path


# --- sniffing: the bytes decide, never the name --------------------------------------


def test_zero_bytes_is_an_empty_document(tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    path.write_bytes(b"")
    with pytest.raises(EmptyDocument, match=r"the file is empty \(0 bytes\)"):
        inspect_document(str(path))


def test_text_named_png_is_unsupported_and_says_what_is_read(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("meeting notes, not an image\n")
    with pytest.raises(UnsupportedDocument) as caught:
        inspect_document(str(path))
    message = str(caught.value)
    assert "not an image or PDF" in message and "starts with text" in message
    assert "PDF, TIFF, PNG, JPEG, BMP, GIF, WEBP" in message


def test_zip_named_pdf_is_recognised_as_an_office_file(tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(b"PK\x03\x04" + bytes(200))
    with pytest.raises(UnsupportedDocument, match="ZIP archive"):
        render_page(str(path), 0)


def test_missing_file_is_a_document_error(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="cannot be read"):
        sniff_format(str(tmp_path / "gone.pdf"))


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "BMP", "GIF", "WEBP", "TIFF"])
def test_image_formats_are_sniffed_whatever_the_name(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "document.pdf"  # wrong extension on purpose
    text_page(["hello"], (200, 100)).convert("RGB").save(path, fmt)
    assert sniff_format(str(path)) == fmt
    image, _ = render_page(str(path), 0)
    assert image.size == (200, 100)


# --- PDF ------------------------------------------------------------------------------


def test_multi_page_pdf_pages_render_one_at_a_time(tmp_path: Path) -> None:
    path = sizes_pdf(tmp_path / "doc.pdf", [(850, 1100), (1100, 850), (400, 300)])
    assert inspect_document(str(path)) == DocumentInfo("pdf", 3)
    for index, (width, height) in enumerate([(850, 1100), (1100, 850), (400, 300)]):
        image, dpi = render_page(str(path), index, dpi=200)
        assert dpi == pytest.approx(200)
        assert image.size == pytest.approx((width * 2, height * 2), abs=1)
        assert image.mode == "RGB"


def test_both_rasterizers_give_the_same_page_size(tmp_path: Path) -> None:
    path = sizes_pdf(tmp_path / "doc.pdf", [(851, 1103), (333, 217)])
    for index in range(2):
        for dpi in (150, 300):
            renders = [render_page(str(path), index, dpi=dpi, rasterizer=r) for r in RASTERIZERS]
            assert renders[0][0].size == renders[1][0].size
            assert renders[0][1] == renders[1][1]


def test_page_rotate_is_honoured_by_both_rasterizers(tmp_path: Path) -> None:
    plain = sizes_pdf(tmp_path / "plain.pdf", [(850, 1100)])
    rotated = tmp_path / "rotated.pdf"
    pdf = pdfium.PdfDocument(str(plain))
    pdf[0].set_rotation(90)
    pdf.save(str(rotated))
    pdf.close()
    for rasterizer in RASTERIZERS:
        image, _ = render_page(str(rotated), 0, dpi=100, rasterizer=rasterizer)
        assert image.width > image.height, rasterizer  # displayed landscape
        # turned clockwise: the text, top left on the unrotated page, is now top right
        corner = image.crop((image.width - 120, 0, image.width, image.height // 3))
        darkest = cast(tuple[float, float], corner.convert("L").getextrema())[0]
        assert darkest < 100, rasterizer


def test_truncated_pdf_is_corrupt(tmp_path: Path) -> None:
    whole = text_pdf(tmp_path / "whole.pdf", [["one"], ["two"]]).read_bytes()
    path = tmp_path / "cut.pdf"
    path.write_bytes(whole[: len(whole) // 2])
    for rasterizer in RASTERIZERS:
        with pytest.raises(CorruptDocument, match="PDF is damaged"):
            render_page(str(path), 0, rasterizer=rasterizer)
    with pytest.raises(CorruptDocument):
        inspect_document(str(path))


def test_invalid_pdf_from_the_corpus_is_corrupt(corpus_dir: Path) -> None:
    with pytest.raises(CorruptDocument, match="not a valid PDF"):
        inspect_document(str(corpus_dir / "edge" / "ocrmypdf_invalid.pdf"))


def test_encrypted_pdf_needs_the_password(tmp_path: Path) -> None:
    path = str(encrypted_pdf(tmp_path / "locked.pdf", user_password="password"))
    with pytest.raises(EncryptedDocument, match="needs a password"):
        inspect_document(path)
    with pytest.raises(EncryptedDocument, match="does not open it"):
        render_page(path, 0, password="wrong")
    assert inspect_document(path, password="password").page_count == 1
    sizes = {render_page(path, 0, password="password", rasterizer=r)[0].size for r in RASTERIZERS}
    assert sizes == {(2000, 800)}  # 1000 x 400 px at 100 dpi, rendered at 200 dpi


def test_owner_password_only_pdf_opens_without_one(tmp_path: Path) -> None:
    path = str(encrypted_pdf(tmp_path / "owner.pdf", user_password="", revision=4))  # AES-128
    assert inspect_document(path).page_count == 1
    image, _ = render_page(path, 0)
    assert image.size == (2000, 800)


@pytest.mark.slow  # a 35,000 px page
def test_huge_pdf_page_renders_at_a_capped_dpi_quickly(corpus_dir: Path) -> None:
    path = str(corpus_dir / "edge" / "ocrmypdf_hugemono_35000px.pdf")  # 8400 pt, 35000 px
    start = time.perf_counter()
    image, dpi = render_page(path, 0, dpi=300)
    elapsed = time.perf_counter() - start
    assert max(image.size) <= RENDER_MAX_SIDE
    assert image.width * image.height <= RENDER_MAX_PIXELS
    assert dpi is not None and dpi < 60
    assert elapsed < 20


def test_capped_scale_keeps_both_budgets() -> None:
    assert capped_scale(612, 792, 200, 10_000, 40_000_000) == pytest.approx(200 / 72)
    scale = capped_scale(8400, 8400, 300, 10_000, 40_000_000)
    assert (8400 * scale) ** 2 <= 40_000_000 * 1.0001
    assert capped_scale(30000, 100, 200, 10_000, 40_000_000) * 30000 <= 10_000.001


def test_unknown_rasterizer_is_a_config_error(tmp_path: Path) -> None:
    path = text_pdf(tmp_path / "doc.pdf", [["x"]])
    with pytest.raises(ConfigError, match="unknown rasterizer"):
        render_page(str(path), 0, rasterizer="ghostscript")


# --- images ---------------------------------------------------------------------------


def test_every_tiff_frame_is_a_page(tmp_path: Path) -> None:
    path = tmp_path / "fax.tif"
    frames = [text_page([f"frame {i}"], (300 + 100 * i, 200)).convert("1") for i in range(3)]
    frames[0].save(path, save_all=True, append_images=frames[1:], dpi=(204, 196))
    assert inspect_document(str(path)) == DocumentInfo("tiff", 3)
    for index in range(3):
        image, dpi = render_page(str(path), index)
        assert image.size == (300 + 100 * index, 200)
        assert image.mode == "1"
        assert dpi == pytest.approx(204)


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: rotate 90 degrees clockwise to view
    text_page(["sideways"], (400, 200)).convert("RGB").save(path, exif=exif, dpi=(72, 72))
    assert inspect_document(str(path)) == DocumentInfo("image", 1)
    image, dpi = render_page(str(path), 0)
    assert image.size == (200, 400)
    assert dpi == 72


def test_bogus_dpi_is_reported_unknown(tmp_path: Path) -> None:
    path = tmp_path / "page.png"
    text_page(["x"], (100, 100)).save(path, dpi=(1, 1))
    assert render_page(str(path), 0)[1] is None


def test_giant_image_is_a_page_size_error_without_decoding_it(tmp_path: Path) -> None:
    path = giant_png(tmp_path / "giant.png")  # 20000 x 20000, 1-bit, ~50 KB on disk
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert inspect_document(str(path)).page_count == 1  # header only
    with pytest.raises(PageSizeError) as caught:
        render_page(str(path), 0)
    peak_growth_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before
    assert peak_growth_kib < 100_000  # decoding would take 400 MB as 8-bit grey
    assert str(caught.value) == (
        "image is 20000 x 20000 = 400 Mpx; the OCR API accepts at most 160 Mpx: "
        "split or downscale it"
    )


def test_big_jpeg_is_decoded_at_reduced_size(tmp_path: Path) -> None:
    path = tmp_path / "poster.jpg"
    text_page(["big"], (2400, 1600)).convert("RGB").save(path, quality=80, dpi=(400, 400))
    image, dpi = render_page(str(path), 0, max_side=600)
    assert image.size == (600, 400)  # draft() decodes at 1/2, 1/4 or 1/8 scale: here 1/4
    assert dpi == 100


def test_damaged_png_is_corrupt(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    text_page(["x"], (300, 300)).save(buffer, "PNG")
    path = tmp_path / "cut.png"
    path.write_bytes(buffer.getvalue()[:200])
    with pytest.raises(CorruptDocument, match="PNG image is damaged"):
        render_page(str(path), 0)


def test_page_index_out_of_range(tmp_path: Path) -> None:
    path = tmp_path / "one.png"
    text_page(["x"], (100, 100)).save(path)
    with pytest.raises(IndexError):
        render_page(str(path), 1)


def test_text_starting_with_bm_is_not_a_bmp(tmp_path: Path) -> None:
    path = tmp_path / "cars.bmp"
    path.write_text("BMW and other cars, a list\n" * 5)
    with pytest.raises(UnsupportedDocument, match="starts with text"):
        inspect_document(str(path))
