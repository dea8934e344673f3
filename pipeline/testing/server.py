"""A fake Huawei-protocol OCR server that injects faults, for tests and benchmarks of
anything that calls OCR.

It listens on 127.0.0.1 (port 0: a free port), answers
`POST /v2/{project_id}/ocr/{api}` with the protocol's response shapes (a structured API,
such as vat-invoice, with the SDK's own answer shape: `pipeline.testing.structured`), and anything
else with 404 APIG.0101, as the real gateway does. Each call takes the next scripted
`Reply`; when the script is empty it takes `default`, which is `Reply.echo()`: a success
whose text is derived from the page sent ("page <tag>" for a page made by
`pipeline.pagetag.make_page`, else "page #<hash of its pixels>"), so a test can check
each output against its own input.

    async with FakeOcrServer(credentials={"AK": "SK"}) as server:
        server.script(
            Reply.error(429, "APIG.0308", retry_after=1),   # throttled, Retry-After: 1
            Reply.error(500, "ModelArts.4501"),             # backend error
            Reply.hang(),          # no answer until the server closes (client times out)
            Reply.drop(),          # read the request, then close the connection
            Reply.cut(),           # 200 headers and half the body, then close
            Reply.raw(502, b"<html>Bad Gateway</html>", "text/html"),
            Reply.ok(("Invoice No. 4711", 0.99), delay=0.05),   # fixed text
            Reply.echo(delay=0.05),                             # the page's own text
        )
        client = OcrClient(session, endpoint=server.url, project_id=server.project_id, ...)
        ...
        assert server.call_count == 8 and server.max_in_flight == 1
        assert server.calls[0].json["image"] == "..."

Inspection: `calls` (every request as received: path, api, headers, body, json, the
signature check, when it arrived, the text echoed), `call_count`, `in_flight`,
`max_in_flight`, `unsigned` (calls whose signature failed); `on_request` is called
synchronously as each request arrives (before any delay), for ordering assertions.
With `credentials` (AK -> SK) every request's signature is checked with
`pipeline.protocol.signing.verify_request`, and a bad one is answered 401 APIG.0301.
For a long benchmark, `keep_bodies=False` forgets each request body (and the answer an
echo sent) once answered.
`throttle_above=N` plays a quota of N calls per second: a call that would be the
N+1st to be accepted within one second is answered 429 APIG.0308 instead (before any
scripted reply is taken), as the real gateway throttles an account.
`free_port()` gives a loopback port where connections are refused.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import socket
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Literal

from aiohttp import web

from pipeline.pagetag import page_text_of_bytes
from pipeline.protocol.apis import all_apis, image_field
from pipeline.protocol.signing import SignatureError, verify_request

from .structured import structured_answer

ReplyKind = Literal["ok", "echo", "error", "raw", "hang", "drop", "cut"]

DEFAULT_BLOCKS: tuple[tuple[str, float | None], ...] = (("Invoice No. 4711", 0.9981),)
ECHO_CONFIDENCE = 0.99


@dataclass(frozen=True)
class Reply:
    """One scripted answer. Build with the class methods rather than by hand."""

    kind: ReplyKind
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    retry_after: str | None = None
    delay: float = 0.0
    """Seconds to wait before answering (the request is already counted as in flight)."""

    @classmethod
    def ok(
        cls,
        *blocks: tuple[str, float | None],
        direction: float = -1,
        delay: float = 0.0,
        extra: Mapping[str, object] | None = None,
    ) -> Reply:
        """200 with a general-text result; each block is (words, confidence or None)."""
        return cls("ok", 200, _result_body(blocks or DEFAULT_BLOCKS, direction, extra),
                   delay=delay)

    @classmethod
    def echo(cls, *, delay: float = 0.0) -> Reply:
        """200 with one block whose words are derived from the page sent: "page <tag>"
        (`pipeline.pagetag`), else "page #<hash>" of its pixels (or of its bytes, when
        they are not an image)."""
        return cls("echo", 200, delay=delay)

    @classmethod
    def error(
        cls,
        status: int,
        code: str,
        message: str | None = None,
        *,
        retry_after: float | str | None = None,
        delay: float = 0.0,
    ) -> Reply:
        """An error answer `{"error_code", "error_msg"}` (+ `request_id` for APIG codes)."""
        payload = {"error_code": code, "error_msg": message or f"fake {code}"}
        if code.startswith("APIG."):
            payload["request_id"] = uuid.uuid4().hex
        ra = None if retry_after is None else str(retry_after)
        return cls("error", status, json.dumps(payload).encode(), retry_after=ra, delay=delay)

    @classmethod
    def raw(cls, status: int, body: bytes, content_type: str = "text/plain") -> Reply:
        """Any status and body, e.g. an HTML error page from a proxy."""
        return cls("raw", status, body, content_type)

    @classmethod
    def hang(cls, seconds: float = 30.0) -> Reply:
        """Answer (a success) only after `seconds`, or never if the server closes first."""
        return cls("hang", delay=seconds, body=Reply.ok().body)

    @classmethod
    def drop(cls, delay: float = 0.0) -> Reply:
        """Read the whole request, then close the connection without answering."""
        return cls("drop", delay=delay)

    @classmethod
    def cut(cls, status: int = 200) -> Reply:
        """Send the status line, headers and half of a success body, then close."""
        return cls("cut", status, Reply.ok().body)


@dataclass
class Call:
    """One request as the server received it."""

    index: int
    method: str
    path: str
    api: str | None
    project_id: str | None
    headers: dict[str, str]
    body: bytes
    received_at: float = 0.0
    """`time.monotonic()` when the request arrived."""
    signature_error: str | None = None
    """Why the signature check failed; None if it passed or was not checked."""
    reply: Reply | None = field(default=None, repr=False)
    echoed: str | None = None
    """The text an echo reply answered (derived from the page sent)."""
    answer: dict[str, object] | None = field(default=None, repr=False)
    """The JSON body an echo reply sent (a structured API's fields, for instance)."""

    @property
    def json(self) -> dict[str, object]:
        data = json.loads(self.body)
        assert isinstance(data, dict)
        return data


class FakeOcrServer:
    """The fake server: `async with FakeOcrServer() as server`, then `server.url`."""

    def __init__(
        self,
        *,
        project_id: str = "0123456789abcdef0123456789abcdef",
        credentials: Mapping[str, str] | None = None,
        default: Reply | None = None,
        on_request: Callable[[Call], None] | None = None,
        keep_bodies: bool = True,
        throttle_above: float | None = None,
    ) -> None:
        self.project_id = project_id
        self.default = default or Reply.echo()
        self.on_request = on_request
        self.keep_bodies = keep_bodies
        self.throttle_above = throttle_above
        self.throttled = 0
        """Calls answered 429 by `throttle_above`."""
        self._accepted: deque[float] = deque()
        self.calls: list[Call] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._credentials = dict(credentials) if credentials is not None else None
        self._script: deque[Reply] = deque()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""

    def script(self, *replies: Reply) -> None:
        """Queue answers for the next calls, in order (after any still queued)."""
        self._script.extend(replies)

    @property
    def call_count(self) -> int:
        return len(self.calls)

    @property
    def pending(self) -> int:
        """Scripted replies not used yet."""
        return len(self._script)

    @property
    def unsigned(self) -> int:
        """Calls refused for a missing or bad signature."""
        return sum(call.signature_error is not None for call in self.calls)

    @property
    def echoed(self) -> list[str]:
        """The texts echo replies answered, in the order the calls arrived."""
        return [call.echoed for call in self.calls if call.echoed is not None]

    async def __aenter__(self) -> FakeOcrServer:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_post("/v2/{project_id}/ocr/{api}", self._handle)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        api = request.match_info.get("api")
        call = Call(
            index=len(self.calls),
            method=request.method,
            path=request.path,
            api=api,
            project_id=request.match_info.get("project_id"),
            headers=dict(request.headers),
            body=body,
            received_at=time.monotonic(),
        )
        self.calls.append(call)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.on_request is not None:
                self.on_request(call)
            if api is None or request.method != "POST":
                return _json(404, {"error_code": "APIG.0101", "error_msg": "API not found"})
            if self._credentials is not None:
                call.signature_error = self._check_signature(request, body)
                if call.signature_error is not None:
                    return _json(401, {"error_code": "APIG.0301",
                                       "error_msg": "Incorrect IAM authentication information"})
            if self._over_quota(call.received_at):
                self.throttled += 1
                call.reply = Reply.error(429, "APIG.0308", "The API is throttled",
                                         retry_after=1)
                return await self._answer(request, call)
            call.reply = self._script.popleft() if self._script else self.default
            if call.reply.kind == "echo":
                call.echoed = _echo_text(body, image_field(api))
            return await self._answer(request, call)
        finally:
            self.in_flight -= 1
            if not self.keep_bodies:
                call.body = b""
                call.answer = None

    def _over_quota(self, now: float) -> bool:
        """Whether a call arriving `now` is over `throttle_above` calls in the last second
        (a sliding window of the calls accepted); if not, it is counted as accepted."""
        if self.throttle_above is None:
            return False
        while self._accepted and self._accepted[0] <= now - 1.0:
            self._accepted.popleft()
        if len(self._accepted) >= self.throttle_above:
            return True
        self._accepted.append(now)
        return False

    def _check_signature(self, request: web.Request, body: bytes) -> str | None:
        secrets = self._credentials or {}
        try:
            verify_request(request.method, request.raw_path.split("?")[0],
                           list(request.query.items()), request.headers, body, secrets.get)
        except SignatureError as exc:
            return str(exc)
        return None

    async def _answer(self, request: web.Request, call: Call) -> web.StreamResponse:
        reply = call.reply
        assert reply is not None
        if reply.delay:
            try:
                await asyncio.wait_for(self._closing.wait(), reply.delay)
            except TimeoutError:
                pass
        if reply.kind == "drop":
            _abort(request)
            return web.Response()
        headers = {"X-Request-Id": uuid.uuid4().hex}
        if reply.retry_after is not None:
            headers["Retry-After"] = reply.retry_after
        if reply.kind == "cut":
            resp = web.StreamResponse(status=reply.status, headers=headers)
            resp.content_type = reply.content_type
            resp.content_length = len(reply.body)
            await resp.prepare(request)
            await resp.write(reply.body[: len(reply.body) // 2])
            _abort(request)
            return resp
        body = reply.body
        if call.echoed is not None:
            call.answer = _echo_answer(call.api or "", call.echoed)
            body = json.dumps(call.answer, ensure_ascii=False).encode()
        return web.Response(status=reply.status, body=body, headers=headers,
                            content_type=reply.content_type)


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (connecting to it is refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _result_body(
    blocks: tuple[tuple[str, float | None], ...],
    direction: float,
    extra: Mapping[str, object] | None,
) -> bytes:
    items = []
    for i, (words, confidence) in enumerate(blocks):
        top = 30 + 40 * i
        item: dict[str, object] = {
            "words": words,
            "location": [[12, top], [220, top], [220, top + 28], [12, top + 28]],
        }
        if confidence is not None:
            item["confidence"] = confidence
        items.append(item)
    result = {"direction": direction, "words_block_count": len(items),
              "words_block_list": items, **(extra or {})}
    return json.dumps({"result": result}).encode()


def _echo_answer(api: str, text: str) -> dict[str, object]:
    """An echo's body: a structured API's sample fields tagged with `text`
    (`pipeline.testing.structured`), else a text result with one block."""
    known = all_apis().get(api)
    if known is not None and known.kind == "structured":
        return structured_answer(api, text)
    answer: dict[str, object] = json.loads(_result_body(((text, ECHO_CONFIDENCE),), -1, None))
    return answer


def _echo_text(body: bytes, field: str = "image") -> str:
    """The text for the page in a request body (its `image` or `data`, Base64)."""
    try:
        image = json.loads(body).get(field, "")
        data = base64.b64decode(image, validate=True)
    except (ValueError, AttributeError, TypeError, binascii.Error):
        data = body
    return page_text_of_bytes(data)


def _json(status: int, payload: dict[str, str]) -> web.Response:
    return web.Response(status=status, body=json.dumps(payload).encode(),
                        headers={"X-Request-Id": uuid.uuid4().hex},
                        content_type="application/json")


def _abort(request: web.Request) -> None:
    if request.transport is not None:
        request.transport.abort()
