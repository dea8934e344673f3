"""A fake `Recognizer` (pipeline.context): pages in, text derived from each page out, with
no HTTP and no OCR engine, for direct tests of `process_document` and `JobContext`.

    ocr = FakeRecognizer(fail_on={"page doc2-p1": PageOcrError("unreadable")})
    result = await ocr.recognize(request)     # one block: "page <tag>" of the page sent

Given the job's ledger hook (`on_attempt`), it reports each call as `LimitedClient` does:
the attempt is started before the "call" and finished as billed (200) or failed.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Mapping

from pipeline.models import Block, OcrRequest, OcrResult
from pipeline.ocr.policy import AttemptHook
from pipeline.pagetag import page_text_of_bytes

CONFIDENCE = 0.99


class FakeRecognizer:
    """Answers each request with one block, "page <tag>" (`pipeline.pagetag`) or
    "page #<hash>", boxed over the lower part of the image sent."""

    def __init__(
        self,
        *,
        fail_on: Mapping[str, Exception] | None = None,
        delay: float = 0.0,
        on_attempt: AttemptHook | None = None,
    ) -> None:
        self.fail_on = dict(fail_on or {})
        """Page text -> the error its call raises instead of answering."""
        self.delay = delay
        self.on_attempt = on_attempt
        self.requests: list[OcrRequest] = []
        self.answered: list[str] = []
        """The text of every successful answer, in the order they were given."""

    async def recognize(self, request: OcrRequest) -> OcrResult:
        self.requests.append(request)
        token = None
        if self.on_attempt is not None:
            token = await self.on_attempt.started(request, 1)
        if self.delay:
            await asyncio.sleep(self.delay)
        text = page_text_of_bytes(base64.b64decode(request.image_b64))
        error = self.fail_on.get(text)
        if self.on_attempt is not None:
            await self.on_attempt.finished(
                token, outcome="failed" if error else "billed",
                http_status=400 if error else 200, error_code="fake" if error else None,
                request_id=f"fake-{len(self.requests)}", latency_ms=self.delay * 1000,
            )
        if error is not None:
            raise error
        self.answered.append(text)
        w, h = request.width, request.height
        box = ((w // 25, h * 6 // 10), (w * 24 // 25, h * 6 // 10),
               (w * 24 // 25, h * 7 // 10), (w // 25, h * 7 // 10))
        return OcrResult((Block(text, box, CONFIDENCE),), w, h,
                         request_id=f"fake-{len(self.requests)}")
