"""Connections the service keeps open: how many, and for how long without a request.

aiohttp bounds the size of a request's headers but not the time they take, nor the number
of connections. `ConnectionGuard` does, below the HTTP layer:

- at most `max_total` open connections, and `max_per_address` per client address (an IPv6
  client counts by its /64): one more is answered 429 APIG.0308 (with Retry-After) and
  closed at once, before anything of it is read;
- from a connection's start, or from the first byte after its previous answer, a request's
  headers must be complete within `header_timeout`, else the connection is closed;
- an idle keep-alive connection is closed by aiohttp after the idle timeout (server.py).

The body's own deadline is the body timeout of `limits.read_body`.

Requests aiohttp's parser refuses itself (a duplicate Content-Type or Host, an invalid
request line) are answered 400 APIG.0201 in Huawei's shape (`HuaweiErrorsHandler`) and
logged as one INFO line on HTTP_LOGGER, not as an ERROR with a traceback.

`GuardedSite` is aiohttp's TCP site with each connection's protocol wrapped by the guard;
`middleware` tells the guard when a request's headers are in and when it is answered.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Handler
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

from .lockout import address_key
from .logsafe import escape, printable

HTTP_LOGGER = logging.getLogger("pipeline.service.http")
"""aiohttp's protocol logs here (server.py passes it): a malformed request (a duplicate
Content-Type, a bad request line) is one INFO line, not an ERROR with a traceback."""


class _QuietMalformed(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError):
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.msg, record.args = "malformed request refused: %s", (
                escape(str(error).replace("\n", " "), 200),
            )
            record.exc_info = record.exc_text = None
        return True


HTTP_LOGGER.addFilter(_QuietMalformed())


class HuaweiErrorsHandler(RequestHandler):
    """aiohttp's protocol, answering the requests its parser refuses (a duplicate Host or
    Content-Type, a bad request line, headers too large) in Huawei's shape, 400 APIG.0201
    with an X-Request-Id, like every other answer, rather than in plain text."""

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> StreamResponse:
        if status >= 500 or request.writer.output_size > 0:
            return super().handle_error(request, status, exc, message)
        reason = message or (str(exc) if exc is not None else "malformed request")
        reason = printable(escape(" ".join(reason.split()), 200))
        HTTP_LOGGER.info("malformed request refused (%d): %s", status, reason)
        request_id = uuid.uuid4().hex
        body = {"error_code": "APIG.0201", "error_msg": f"Bad request: {reason}",
                "request_id": request_id}
        response = web.json_response(body, status=status, headers={"X-Request-Id": request_id})
        response.force_close()
        return response


def _handler_factory(server: web.Server) -> Callable[[], Any]:
    """`server()`, with HuaweiErrorsHandler as the protocol when aiohttp lets us."""
    kwargs = getattr(server, "_kwargs", None)
    if not isinstance(kwargs, dict):  # another aiohttp: keep its own handler
        return server
    loop = asyncio.get_running_loop()
    return lambda: HuaweiErrorsHandler(server, loop=loop, **kwargs)

_NEW, _HEADERS, _BUSY, _IDLE = range(4)


def _refusal(message: str) -> bytes:
    request_id = uuid.uuid4().hex
    body = json.dumps(
        {"error_code": "APIG.0308", "error_msg": message, "request_id": request_id}
    ).encode()
    head = (
        "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nRetry-After: 1\r\nX-Request-Id: {request_id}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + body


class _GuardedProtocol(asyncio.Protocol):
    """aiohttp's protocol for one connection, with the guard's accounting around it."""

    def __init__(self, guard: ConnectionGuard, inner: Any) -> None:
        self._guard = guard
        self._inner = inner
        self._transport: asyncio.Transport | None = None
        self._key = ""
        self._admitted = False
        self._state = _NEW
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        peer = transport.get_extra_info("peername")
        self._key = address_key(str(peer[0])) if isinstance(peer, tuple) and peer else ""
        refusal = self._guard.admit(self._key)
        if refusal is not None:
            transport.write(_refusal(refusal))
            transport.close()
            return
        self._admitted = True
        self._transport = transport
        self._guard.protocols[self._inner] = self
        self._arm()
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if not self._admitted:
            return
        if self._state == _IDLE:
            self._state = _HEADERS
            self._arm()
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        if not self._admitted:
            return None
        result: bool | None = self._inner.eof_received()
        return result

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._admitted:
            return
        self._admitted = False
        self._disarm()
        self._guard.release(self._key)
        self._guard.protocols.pop(self._inner, None)
        self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()

    def headers_in(self) -> None:
        self._state = _BUSY
        self._disarm()

    def answered(self) -> None:
        self._state = _IDLE

    def _arm(self) -> None:
        self._disarm()
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self._guard.header_timeout, self._expire)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expire(self) -> None:
        self._timer = None
        if self._state in (_NEW, _HEADERS) and self._transport is not None:
            self._guard.timed_out += 1
            self._transport.close()


class ConnectionGuard:
    def __init__(self, max_total: int, max_per_address: int, header_timeout: float) -> None:
        self.max_total = max_total
        self.max_per_address = max_per_address
        self.header_timeout = header_timeout
        self.open = 0
        self.refused = 0
        self.timed_out = 0
        self._per_address: Counter[str] = Counter()
        self.protocols: dict[Any, _GuardedProtocol] = {}

    def admit(self, key: str) -> str | None:
        """Count a new connection from `key`; or the reason it is refused."""
        if self.open >= self.max_total:
            self.refused += 1
            return f"The service has too many open connections ({self.max_total}): retry later"
        if self._per_address[key] >= self.max_per_address:
            self.refused += 1
            return (
                f"Too many open connections from your address ({self.max_per_address}): "
                "close idle ones or send fewer calls at once"
            )
        self.open += 1
        self._per_address[key] += 1
        return None

    def release(self, key: str) -> None:
        self.open -= 1
        self._per_address[key] -= 1
        if self._per_address[key] <= 0:
            del self._per_address[key]

    def wrap(self, factory: Callable[[], Any]) -> Callable[[], asyncio.Protocol]:
        return lambda: _GuardedProtocol(self, factory())

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        protocol = self.protocols.get(request.protocol)
        if protocol is not None:
            protocol.headers_in()
        try:
            return await handler(request)
        finally:
            if protocol is not None:
                protocol.answered()


class GuardedSite(web.TCPSite):
    """A TCP site whose connections go through `guard`."""

    def __init__(self, runner: web.BaseRunner, guard: ConnectionGuard, **kwargs: Any) -> None:
        super().__init__(runner, **kwargs)
        self._guard = guard

    async def start(self) -> None:
        await web.BaseSite.start(self)
        loop = asyncio.get_running_loop()
        server = self._runner.server
        assert server is not None
        self._server = await loop.create_server(
            self._guard.wrap(_handler_factory(server)),
            self._host,
            self._port,
            ssl=self._ssl_context,
            # a TLS handshake is not counted yet: it gets the header deadline too
            ssl_handshake_timeout=self._guard.header_timeout if self._ssl_context else None,
            backlog=self._backlog,
            reuse_address=self._reuse_address,
            reuse_port=self._reuse_port,
        )
        sockets = self._server.sockets
        self._bound_port = sockets[0].getsockname()[1] if sockets else self._port
