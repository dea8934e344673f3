"""The page tag survives what the pipeline does to a page (JPEG, 1-bit PNG, scaling, a PDF
rendered at another resolution) and an untagged page reads as no tag."""

from __future__ import annotations

import io

import pypdfium2 as pdfium
import pytest
from PIL import Image

from pipeline.pagetag import MAX_TAG_LENGTH, make_page, page_text, page_text_of_bytes, read_tag

SIZES = [(320, 160), (640, 480), (1240, 1754)]


def reencoded(image: Image.Image, fmt: str, **options: object) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return Image.open(io.BytesIO(buffer.getvalue()))


@pytest.mark.parametrize("size", SIZES)
def test_the_tag_survives_encoding_and_scaling(size: tuple[int, int]) -> None:
    page = make_page("inv-42/p3", size)
    width, height = size
    assert read_tag(page) == "inv-42/p3"
    assert read_tag(reencoded(page, "JPEG", quality=30)) == "inv-42/p3"
    assert read_tag(reencoded(page.convert("1"), "PNG")) == "inv-42/p3"
    assert read_tag(reencoded(page.convert("RGB"), "PNG")) == "inv-42/p3"
    assert read_tag(page.resize((width // 3, height // 3))) == "inv-42/p3"
    assert read_tag(page.resize((width * 2, height * 3 // 2))) == "inv-42/p3"


@pytest.mark.parametrize("scale", [0.5, 200 / 72, 300 / 72])
def test_the_tag_survives_a_pdf_rendered_at_another_resolution(scale: float) -> None:
    pdf = io.BytesIO()
    first, second = make_page("a-p1").convert("RGB"), make_page("a-p2").convert("RGB")
    first.save(pdf, "PDF", resolution=100.0, save_all=True, append_images=[second])
    document = pdfium.PdfDocument(pdf.getvalue())
    try:
        tags = [read_tag(document[i].render(scale=scale).to_pil()) for i in range(2)]
    finally:
        document.close()
    assert tags == ["a-p1", "a-p2"]


def test_pages_without_a_tag_read_as_none_and_answer_a_hash_of_their_pixels() -> None:
    blank, black = Image.new("L", (400, 300), 255), Image.new("L", (400, 300), 0)
    noise = Image.effect_noise((400, 300), 100)
    assert read_tag(blank) is None and read_tag(black) is None and read_tag(noise) is None
    assert page_text(blank).startswith("page #") and page_text(blank) != page_text(black)
    assert page_text(blank) == page_text(Image.new("L", (400, 300), 255))


def test_page_text_of_bytes() -> None:
    encoded = io.BytesIO()
    make_page("bytes").save(encoded, "PNG")
    assert page_text_of_bytes(encoded.getvalue()) == "page bytes"
    not_an_image = page_text_of_bytes(b"hello")
    assert not_an_image.startswith("page #") and not_an_image != page_text_of_bytes(b"hello!")


def test_tags_are_short_ascii_and_pages_big_enough() -> None:
    assert read_tag(make_page("x" * MAX_TAG_LENGTH)) == "x" * MAX_TAG_LENGTH
    assert read_tag(make_page("")) == ""
    with pytest.raises(ValueError, match="at most"):
        make_page("x" * (MAX_TAG_LENGTH + 1))
    with pytest.raises(ValueError, match="ascii"):
        make_page("page-é")
    with pytest.raises(ValueError, match="at least"):
        make_page("tiny", (60, 40))
