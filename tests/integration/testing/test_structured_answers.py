"""The fake server's structured answers have the SDK's own shapes: for every API of the
catalogue, what `FakeOcrServer` answers to a tagged page is deserialised by the official
SDK (`huaweicloudsdkocr`) into its response model without error or warning, and the
client keeps that `result` whole as the page's `raw`.

HOME points at a temporary folder before the SDK is imported (it writes
~/.huaweicloud/application_id on import).
"""

from __future__ import annotations

import base64
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from benchmarks.ocr_catalogue import serialised
from pipeline.models import OcrRequest
from pipeline.ocr.client import OcrClient
from pipeline.ocr.credentials import Credentials
from pipeline.protocol.apis import all_apis
from pipeline.testing import FakeOcrServer, make_page, sample_apis, structured_answer
from tests.support.jobs import FAKE_AK, FAKE_SK

pytestmark = [
    # The SDK's signer calls datetime.utcnow(), deprecated from Python 3.12.
    pytest.mark.filterwarnings("ignore::DeprecationWarning:huaweicloudsdkcore.*"),
]
STRUCTURED = [name for name, api in all_apis().items()
              if api.kind == "structured" and api.image_field is not None]


@pytest.fixture
def sdk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("HOME", str(tmp_path))
    from huaweicloudsdkocr.v1 import OcrClient as SdkClient

    return SdkClient()


@pytest.fixture
async def client(server: FakeOcrServer) -> AsyncIterator[OcrClient]:
    async with aiohttp.ClientSession() as session:
        yield OcrClient(session, endpoint=server.url, project_id=server.project_id,
                        credentials=Credentials(FAKE_AK, FAKE_SK))


def tagged_png(tag: str) -> str:
    buffer = io.BytesIO()
    make_page(tag, (320, 160)).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def test_every_api_of_the_catalogue_has_a_sample_answer_the_sdk_reads(sdk: Any) -> None:
    assert set(sample_apis()) == set(all_apis())
    assert len(STRUCTURED) >= 40
    for name, api in all_apis().items():  # text APIs and invoice-verification included
        answer = structured_answer(name, "page x")
        model = sdk._deserialize(answer, api.response_model)
        assert serialised(model.result) == answer["result"], name


async def test_the_sdk_reads_back_every_structured_answer_of_the_fake(
    server: FakeOcrServer, client: OcrClient, sdk: Any
) -> None:
    for number, name in enumerate(STRUCTURED):
        tag = f"api{number}"
        request = OcrRequest("d.png", 0, tagged_png(tag), 320, 160, name)
        result = await client.recognize(request)
        call = server.calls[-1]
        assert call.api == name and call.answer is not None
        # the page went in the API's own image field, and the fake read its tag from there
        assert set(call.json) == {all_apis()[name].image_field}
        assert call.answer == structured_answer(name, f"page {tag}")
        assert result.raw == call.answer["result"]
        model = sdk._deserialize(call.answer, all_apis()[name].response_model)
        assert type(model).__name__ == all_apis()[name].response_model
        # the populated model serialises back to what was answered: no field lost or added
        assert serialised(model.result) == call.answer["result"], name
    assert server.call_count == len(STRUCTURED)


async def test_options_go_in_the_body_and_the_api_in_the_path(
    server: FakeOcrServer, client: OcrClient
) -> None:
    options = (("return_seal_image", True),)
    await client.recognize(OcrRequest("s.png", 0, tagged_png("seal"), 320, 160, "seal", options))
    call = server.calls[0]
    assert call.path == f"/v2/{server.project_id}/ocr/seal"
    assert call.json == {"data": tagged_png("seal"), "return_seal_image": True}
    assert call.answer is not None
    seal = call.answer["result"]
    assert isinstance(seal, dict) and seal["erased_seal_image"] == "page seal erased_seal_image"
