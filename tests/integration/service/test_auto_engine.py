"""The "auto" engine (the embedded default): Latin-script pages to Tesseract, the others
to RapidOCR, and RapidOCR alone where Tesseract's data is missing."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pipeline.service.auto import AutoBackend
from pipeline.service.backend import EngineRequest, Line
from pipeline.service.engine import make_backend
from pipeline.service.images import to_bgr_array
from pipeline.service.tess import tessdata_path
from pipeline.testing.cer import cer
from tests.support.paths import CORPUS_DIR, SAMPLES_DIR

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("tesserocr") is None,
        reason="tesserocr is not installed (pip install 'ocrpipe[tesseract]')",
    ),
    pytest.mark.skipif(
        not all((Path(tessdata_path()) / f"{lang}.traineddata").is_file()
                for lang in ("eng", "osd")),
        reason="Tesseract language data missing: apt-get install tesseract-ocr-eng "
        "tesseract-ocr-osd",
    ),
]

ENGLISH = SAMPLES_DIR / "scans" / "tess_eurotext.tif"
CHINESE = SAMPLES_DIR / "chinese" / "rapidocr_transparent_alpha_zh.png"


def page(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, "white")
        return to_bgr_array(Image.alpha_composite(white, rgba).convert("RGB"))


def text_of(lines: list[Line]) -> str:
    return "\n".join(line.text for line in lines)


def truth(path: Path) -> str:
    return path.with_suffix(".gt.txt").read_text("utf-8")


@pytest.fixture(scope="module")
def auto() -> AutoBackend:
    backend = make_backend("auto", 1)
    assert isinstance(backend, AutoBackend)
    return backend


def test_a_latin_page_is_read_by_tesseract(auto: AutoBackend) -> None:
    before = dict(auto.routed)
    read = auto.recognize(page(ENGLISH), EngineRequest(detect_direction=True))
    assert auto.routed["tesseract"] == before["tesseract"] + 1
    assert auto.routed["rapidocr"] == before["rapidocr"]
    assert read.direction == 0
    assert cer(text_of(read.lines), truth(ENGLISH)) < 0.1


def test_a_turned_latin_page_is_turned_upright_once(auto: AutoBackend) -> None:
    turned = np.ascontiguousarray(np.rot90(page(ENGLISH), 2))
    read = auto.recognize(turned, EngineRequest(detect_direction=True))
    assert read.direction == 180
    assert cer(text_of(read.lines), truth(ENGLISH)) < 0.1


def test_a_chinese_page_is_read_by_rapidocr(auto: AutoBackend) -> None:
    before = dict(auto.routed)
    read = auto.recognize(page(CHINESE), EngineRequest())
    assert auto.routed["rapidocr"] == before["rapidocr"] + 1
    assert cer(text_of(read.lines), truth(CHINESE)) < 0.2


def test_without_tesseract_data_every_page_goes_to_rapidocr(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("TESSDATA_PREFIX", str(tmp_path))  # an empty folder: no models
    backend = AutoBackend(1)
    assert "Tesseract is not available" in caplog.text
    read = backend.recognize(page(ENGLISH), EngineRequest())
    assert backend.routed == {"tesseract": 0, "rapidocr": 1, "fallback": 0, "table": 0}
    assert cer(text_of(read.lines), truth(ENGLISH)) < 0.2


def test_a_named_language_skips_the_routing(auto: AutoBackend) -> None:
    before = dict(auto.routed)
    english = page(ENGLISH)
    as_chinese = auto.recognize(english, EngineRequest(language="zh"))
    as_english = auto.recognize(english, EngineRequest(language="en"))
    assert auto.routed["rapidocr"] == before["rapidocr"] + 1
    assert auto.routed["tesseract"] == before["tesseract"] + 1
    assert as_english.direction == -1
    assert cer(text_of(as_english.lines), truth(ENGLISH)) < 0.1
    assert cer(text_of(as_chinese.lines), truth(ENGLISH)) < 0.2


TEXTBOOK = CORPUS_DIR / "pages" / "omni_zh_textbook_lowres.jpg"  # restricted: read in place


@pytest.mark.skipif(not TEXTBOOK.exists(), reason=f"{TEXTBOOK} not found (the shared corpus)")
def test_a_chinese_page_that_looks_latin_is_read_again_by_rapidocr(auto: AutoBackend) -> None:
    # OSD calls this page Latin (1.67); Tesseract's reading of it is poor (0.21)
    before = dict(auto.routed)
    read = auto.recognize(page(TEXTBOOK), EngineRequest())
    assert auto.routed["fallback"] == before["fallback"] + 1
    assert auto.routed["rapidocr"] == before["rapidocr"] + 1
    assert auto.routed["tesseract"] == before["tesseract"]
    han = sum("\u4e00" <= ch <= "\u9fff" for ch in text_of(read.lines))
    assert han > 200  # RapidOCR's Chinese, not Tesseract's English guesses


STATEMENT = CORPUS_DIR / "pages" / "scribe_table_02.png"  # a bank statement, ruled table
DATE = re.compile(r"\d{2}[A-Z][a-z]{2}\d{4}")


def statement_dates() -> list[str]:
    return [line for line in truth(STATEMENT).splitlines() if DATE.fullmatch(line)]


@pytest.mark.skipif(not STATEMENT.exists(), reason=f"{STATEMENT} not found (the shared corpus)")
def test_a_page_with_a_table_is_read_by_rapidocr(auto: AutoBackend) -> None:
    """Named English, so that Tesseract reads it first (OSD is unsure of this small page,
    Latin 0.3 or Cyrillic 0.1: it would go to RapidOCR at once)."""
    before = dict(auto.routed)
    read = auto.recognize(page(STATEMENT), EngineRequest(language="en"))
    assert auto.routed["table"] == before["table"] + 1
    assert auto.routed["rapidocr"] == before["rapidocr"] + 1
    assert auto.routed["tesseract"] == before["tesseract"]
    assert [line.text for line in read.lines if DATE.fullmatch(line.text)] == statement_dates()


@pytest.mark.skipif(not STATEMENT.exists(), reason=f"{STATEMENT} not found (the shared corpus)")
def test_tesseract_cuts_table_rows_at_their_columns_and_reads_small_print_scaled_up() -> None:
    """At the scan's own size (words 14 px high) Tesseract lost the first row and read
    01Aug2018 as Q1Aug2018; each row was one line, date and description together."""
    tesseract = make_backend("tesseract", 1)
    read = tesseract.recognize(page(STATEMENT), EngineRequest(language="en"))
    dates = [line for line in read.lines if DATE.fullmatch(line.text)]
    assert [line.text for line in dates] == statement_dates()
    height, width = page(STATEMENT).shape[:2]
    assert all(0 <= x <= width and 0 <= y <= height  # boxes back on the page as sent
               for line in dates for x, y in line.box)
    assert "Clearing Cheque" in [line.text for line in read.lines]
