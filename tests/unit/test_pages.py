"""pages.prepare_page: the per-page worker function, called as the runner calls it."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest
from PIL import Image

from pipeline.errors import EncryptedDocument, PageSizeError
from pipeline.models import PageImage
from pipeline.page_worker import PageSettings, prepare_page
from pipeline.prepare import PageLimits
from pipeline.workers import process_pool
from tests.support.inputs import LOCKED_PAGE, encrypted_pdf, text_page, text_pdf
from tests.support.paths import SAMPLES_DIR


def test_prepare_page_in_a_process_pool(tmp_path: Path) -> None:
    pdf = text_pdf(tmp_path / "doc.pdf", [["first page"], ["second page"], ["third"]])
    fax = tmp_path / "fax.tif"
    frames = [text_page([f"frame {i}"]).convert("1") for i in range(2)]
    frames[0].save(fax, save_all=True, append_images=frames[1:])
    tiny = tmp_path / "tiny.png"
    Image.new("L", (10, 12), 255).save(tiny)
    with process_pool(2) as pool:  # as the runner does
        pdf_pages = [pool.submit(prepare_page, str(pdf), "doc.pdf", i) for i in range(3)]
        fax_pages = [pool.submit(prepare_page, str(fax), "fax.tif", i) for i in range(2)]
        bad = pool.submit(prepare_page, str(tiny), "tiny.png", 0)
        results = [f.result() for f in pdf_pages + fax_pages]
        with pytest.raises(PageSizeError, match="at least 15 px"):
            bad.result()
    assert [(p.doc_key, p.index) for p in results] == [
        ("doc.pdf", 0), ("doc.pdf", 1), ("doc.pdf", 2), ("fax.tif", 0), ("fax.tif", 1)
    ]
    assert all(isinstance(p, PageImage) for p in results)
    assert {p.format for p in results[:3]} == {"original"}  # one JPEG per page: as is
    assert {p.format for p in results[3:]} == {"png"}
    assert results[0].width == 1000 and results[0].dpi == pytest.approx(100)


def test_upright_jpeg_within_limits_is_sent_as_is(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    text_page(["photo"], (800, 600)).convert("RGB").save(path, quality=85, dpi=(300, 300))
    page = prepare_page(str(path), "photo.jpg", 0)
    assert page.format == "original" and page.data == path.read_bytes()
    assert (page.width, page.height, page.dpi) == (800, 600, 300)


def test_jpeg_that_needs_a_change_is_re_encoded(tmp_path: Path) -> None:
    rotated, big = tmp_path / "rotated.jpg", tmp_path / "big.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    text_page(["sideways"], (800, 600)).convert("RGB").save(rotated, exif=exif)
    text_page(["big"], (3000, 2000)).convert("RGB").save(big)
    page = prepare_page(str(rotated), "rotated.jpg", 0)
    assert (page.format, page.width, page.height) == ("jpeg", 600, 800)
    page = prepare_page(str(big), "big.jpg", 0, PageSettings(limits=PageLimits(max_side=1000)))
    assert page.format == "jpeg" and max(page.width, page.height) == 1000


def test_pdf_pages_are_rendered_no_larger_than_sent(tmp_path: Path) -> None:
    pdf = tmp_path / "doc.pdf"  # 1000 x 400 px at 100 dpi, CCITT: not passed through
    text_page(["one"]).convert("1").save(pdf, "PDF", resolution=100.0)
    settings = PageSettings(dpi=300, limits=PageLimits(max_side=1500))
    page = prepare_page(str(pdf), "doc.pdf", 0, settings)
    assert (page.width, page.height) == (page.source_width, page.source_height)
    assert page.width == 1500 and page.dpi == pytest.approx(150)


@pytest.mark.slow  # a 35,000 px page
def test_huge_pdf_page_is_prepared_quickly_within_limits(corpus_dir: Path) -> None:
    path = str(corpus_dir / "edge" / "ocrmypdf_hugemono_35000px.pdf")
    limits = PageLimits()
    page = prepare_page(path, "hugemono.pdf", 0, PageSettings(limits=limits))
    assert max(page.width, page.height) <= limits.max_side
    assert len(base64.b64encode(page.data)) <= limits.max_b64_bytes


@pytest.mark.parametrize("rasterizer", ["pypdfium2", "pdf2image"])
def test_encrypted_pdf_with_its_password(tmp_path: Path, rasterizer: str) -> None:
    path = str(encrypted_pdf(tmp_path / "locked.pdf", user_password="password"))
    plain = str(text_pdf(tmp_path / "plain.pdf", [LOCKED_PAGE]))
    with pytest.raises(EncryptedDocument, match="password"):
        prepare_page(path, "locked.pdf", 0, PageSettings(rasterizer=rasterizer))
    unlocked = PageSettings(rasterizer=rasterizer, password="password")
    page = prepare_page(path, "locked.pdf", 0, unlocked)
    twin = prepare_page(plain, "plain.pdf", 0, PageSettings(rasterizer=rasterizer))
    assert (page.width, page.height) == (twin.width, twin.height)  # the same page, unlocked


def test_edge_images_from_the_samples() -> None:
    chinese = SAMPLES_DIR / "chinese"
    alpha = prepare_page(str(chinese / "rapidocr_transparent_alpha_zh.png"), "a", 0)
    assert (alpha.width, alpha.height) == (1890, 503)
    exif = prepare_page(str(chinese / "rapidocr_exif_orientation3_zh.jpg"), "e", 0)
    assert exif.format == "jpeg"  # orientation 3 applied, so not passed through


def test_multiframe_tiff_from_the_corpus(corpus_dir: Path) -> None:
    frames = [
        prepare_page(str(corpus_dir / "edge" / "docling_multiframe_2206.01062.tif"), "m", i)
        for i in range(2)
    ]
    assert [(f.width, f.height, f.dpi) for f in frames] == [(612, 792, None)] * 2


def test_scanned_pdf_page_that_is_one_jpeg_is_sent_as_is(tmp_path: Path) -> None:
    scan = text_page(["Scanned page"]).convert("RGB")  # Pillow embeds RGB as DCTDecode
    scan.save(tmp_path / "scan.pdf", "PDF", resolution=150.0)
    page = prepare_page(str(tmp_path / "scan.pdf"), "scan.pdf", 0)
    assert page.format == "original" and page.data[:2] == b"\xff\xd8"
    assert (page.width, page.height) == scan.size and page.dpi == pytest.approx(150)
    with Image.open(io.BytesIO(page.data)) as sent:
        assert sent.size == scan.size


def test_rotated_or_composite_pdf_pages_are_rendered(tmp_path: Path) -> None:
    import pypdfium2 as pdfium

    text_page(["Rotated page"]).convert("RGB").save(tmp_path / "r.pdf", "PDF")
    pdf = pdfium.PdfDocument(tmp_path / "r.pdf")
    pdf[0].set_rotation(90)
    pdf.save(tmp_path / "rotated.pdf")
    pdf.close()
    rotated = prepare_page(str(tmp_path / "rotated.pdf"), "rotated.pdf", 0)
    assert rotated.format != "original" and rotated.height > rotated.width

    bitonal = text_page(["Fax page"]).convert("1")  # Pillow stores it CCITT G4
    bitonal.save(tmp_path / "fax.pdf", "PDF")
    assert prepare_page(str(tmp_path / "fax.pdf"), "fax.pdf", 0).format != "original"
