"""The testing kit's fake OCR server: by default each page is answered with its own tag,
through the real client; scripted replies come first; request bodies can be dropped."""

from __future__ import annotations

import asyncio
import base64
import io

import aiohttp

from pipeline.models import OcrRequest
from pipeline.ocr.client import OcrClient
from pipeline.ocr.credentials import Credentials
from pipeline.testing import FakeOcrServer, Reply, make_page

AK, SK = "AKKIT", "kit-secret"


def request(tag: str, index: int = 0) -> OcrRequest:
    buffer = io.BytesIO()
    make_page(tag, (320, 160)).save(buffer, "JPEG", quality=60)
    return OcrRequest("doc.pdf", index, base64.b64encode(buffer.getvalue()).decode(), 320, 160)


async def test_echo_answers_each_page_with_its_own_tag_and_scripted_replies_come_first(
    session: aiohttp.ClientSession,
) -> None:
    async with FakeOcrServer(credentials={AK: SK}) as server:
        client = OcrClient(session, endpoint=server.url, project_id=server.project_id,
                           credentials=Credentials(AK, SK))
        server.script(Reply.ok(("fixed text", 0.5)))
        requests = [request(f"p{n}", n) for n in range(4)]
        first = await client.send(requests[0], client.encode(requests[0]))
        assert [b.text for b in first.result.blocks] == ["fixed text"]
        answers = await asyncio.gather(
            *(client.send(r, client.encode(r)) for r in requests[1:]))
        assert [a.result.blocks[0].text for a in answers] == ["page p1", "page p2", "page p3"]
        async with session.post(f"{server.url}/v2/{server.project_id}/ocr/general-text",
                                json={"image": "aGVsbG8="}) as unsigned:
            assert unsigned.status == 401
    assert sorted(server.echoed) == ["page p1", "page p2", "page p3"]
    assert server.calls[0].echoed is None and server.unsigned == 1
    assert server.call_count == 5 and server.pending == 0


async def test_a_body_that_is_no_image_is_answered_with_a_hash_and_bodies_can_be_dropped(
    session: aiohttp.ClientSession,
) -> None:
    async with FakeOcrServer(keep_bodies=False) as server:
        url = f"{server.url}/v2/{server.project_id}/ocr/general-text"
        texts = []
        for image in ("aGVsbG8=", "aGVsbG8=", "d29ybGQ="):
            async with session.post(url, json={"image": image}) as answer:
                assert answer.status == 200
                body = await answer.json()
                texts.append(body["result"]["words_block_list"][0]["words"])
    assert texts[0] == texts[1] != texts[2] and texts[0].startswith("page #")
    assert all(call.body == b"" for call in server.calls)
