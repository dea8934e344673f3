"""The embedded service offers the text APIs only: every structured API of the catalogue
(generated from the SDK) answers 403 ModelArts.4204 (not subscribed), as Huawei does for
an API whose package was not bought, never 404 (which would read as a wrong endpoint)."""

from __future__ import annotations

from pipeline.protocol.apis import all_apis
from pipeline.service.general_text import TEXT_APIS
from pipeline.testing import make_page
from tests.support.service import OcrService, assert_error, b64, call, png


async def test_every_structured_api_answers_not_subscribed(scripted_service: OcrService) -> None:
    image = b64(png(make_page("card", (320, 160))))
    structured = [a for a in all_apis().values() if a.name not in TEXT_APIS]
    assert {a.name for a in structured} >= {"vat-invoice", "id-card", "auto-classification"}
    for api in structured:
        body = {api.image_field or "image": image}
        answer = await call(scripted_service, body, url=scripted_service.api_url(api.name))
        assert_error(answer, 403, "ModelArts.4204")
    answer = await call(scripted_service, {"image": image},
                        url=scripted_service.api_url("general-text"))
    assert answer.status == 200 and answer.body["result"]["words_block_list"]
