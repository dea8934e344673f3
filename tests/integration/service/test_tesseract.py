"""The optional Tesseract engine (`--engine tesseract`) behind the same API: skipped, with
the reason, where tesserocr or Debian's language data is missing."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.service.server import ServiceConfig
from pipeline.service.tess import tessdata_path
from pipeline.testing.cer import cer
from tests.support.paths import DATA_DIR, SAMPLES_DIR
from tests.support.service import (
    TEST_AK,
    TEST_PROJECT_ID,
    TEST_SK,
    OcrService,
    ServiceThread,
    assert_error,
    b64,
    call,
    words,
)

pytestmark = [
    pytest.mark.skipif(
        importlib.util.find_spec("tesserocr") is None,
        reason="tesserocr is not installed (pip install 'ocrpipe[tesseract]')",
    ),
    pytest.mark.skipif(
        not all((Path(tessdata_path()) / f"{lang}.traineddata").is_file()
                for lang in ("eng", "chi_sim", "osd")),
        reason="Tesseract language data missing: apt-get install tesseract-ocr-eng "
        "tesseract-ocr-chi-sim tesseract-ocr-osd",
    ),
]


@pytest.fixture(scope="module")
def tesseract_service() -> Iterator[OcrService]:
    config = ServiceConfig(port=0, workers=1, engine="tesseract", credentials={TEST_AK: TEST_SK})
    thread = ServiceThread(config)
    url = thread.start()
    try:
        yield OcrService(url=url, ak=TEST_AK, sk=TEST_SK, project_id=TEST_PROJECT_ID)
    finally:
        thread.stop()


@pytest.mark.parametrize(
    ("page", "direction"),
    [
        (SAMPLES_DIR / "tess_phototest.tif", -1),
        (DATA_DIR / "rotated" / "tess_phototest_rotated_180.png", 180),
        (DATA_DIR / "rotated" / "tess_phototest_rotated_L.png", 90),
    ],
)
async def test_tesseract_reads_english_pages_upright_or_turned(
    tesseract_service: OcrService, page: Path, direction: int
) -> None:
    path = page
    truth = path.with_suffix(".gt.txt").read_text(encoding="utf-8")
    body = {"image": b64(path.read_bytes()), "language": "en", "character_mode": True,
            "detect_direction": direction != -1}
    answer = await call(tesseract_service, body)
    assert answer.status == 200, answer.body
    result = answer.body["result"]
    assert result["direction"] == direction
    assert cer("\n".join(words(answer)), truth) <= 0.01
    first = result["words_block_list"][0]
    assert "".join(c["char"] for c in first["char_list"]) == first["words"].replace(" ", "")


async def test_tesseract_refuses_unknown_languages(tesseract_service: OcrService) -> None:
    assert_error(await call(tesseract_service, {"image": "aGVsbG8=", "language": "xx"}),
                 400, "AIS.0101")
