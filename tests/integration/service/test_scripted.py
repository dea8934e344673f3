"""The scripted engine, registered in ENGINES like the real ones: the whole service (auth,
workers, decoding, PDF pages) answering each page with its own tag, in milliseconds."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from pipeline.service.apierror import ApiError
from pipeline.service.backend import EngineRequest
from pipeline.service.engine import ENGINES, make_backend
from pipeline.service.images import to_bgr_array
from pipeline.service.scripted import ScriptedBackend
from pipeline.testing import make_page
from tests.support.service import OcrService, assert_error, b64, call, encoded, words


def test_the_scripted_engine_is_built_by_the_engine_factory() -> None:
    assert "scripted" in ENGINES
    backend = make_backend("scripted", threads=1)
    assert isinstance(backend, ScriptedBackend)
    page = backend.recognize(to_bgr_array(make_page("direct").convert("RGB")), EngineRequest())
    assert [line.text for line in page.lines] == ["page direct"] and page.direction == -1
    with pytest.raises(ApiError):
        backend.check_language("klingon")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "TIFF"])
async def test_the_service_answers_each_image_with_its_tag(
    scripted_service: OcrService, fmt: str
) -> None:
    answer = await call(scripted_service, {"image": b64(encoded(make_page(f"img-{fmt}"), fmt))})
    assert answer.status == 200, answer.body
    assert words(answer) == [f"page img-{fmt}"]


async def test_the_service_reads_the_pdf_page_asked_for(scripted_service: OcrService) -> None:
    pages = [make_page(f"pdf-p{n}").convert("RGB") for n in (1, 2, 3)]
    buffer = io.BytesIO()
    pages[0].save(buffer, "PDF", resolution=72.0, save_all=True, append_images=pages[1:])
    texts = []
    for number in (3, 1, 2):
        body = {"image": b64(buffer.getvalue()), "pdf_page_number": number}
        answer = await call(scripted_service, body)
        assert answer.status == 200, answer.body
        texts.append(words(answer))
    assert texts == [["page pdf-p3"], ["page pdf-p1"], ["page pdf-p2"]]


async def test_bad_input_is_refused_as_by_the_real_engines(scripted_service: OcrService) -> None:
    assert_error(await call(scripted_service, {"image": "!!"}), 400, "AIS.0102")
    blank = Image.new("RGB", (200, 100), "white")
    answer = await call(scripted_service, {"image": b64(encoded(blank, "PNG"))})
    assert answer.status == 200 and words(answer)[0].startswith("page #")
