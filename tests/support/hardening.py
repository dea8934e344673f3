"""Helpers for the hardening tests (issue 11): the service app on a real loopback port with
its connection guard, an engine whose answer is derived from its input, raw HTTP over
asyncio streams (duplicate headers, slow and cut-off clients, chosen source addresses).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import time
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from pipeline.protocol.signing import sign_request
from pipeline.service.app import CONNECTIONS, STATE, ServiceLimits, State, create_app
from pipeline.service.authfile import AuthConfig
from pipeline.service.blocks import TextBlock
from pipeline.service.connections import HTTP_LOGGER, ConnectionGuard, GuardedSite
from pipeline.service.engine import OcrEngine, PageText, RecognizeOptions
from pipeline.service.server import LINGERING_S

AK, SK = "HARDENAK", "harden-secret"
PROJECT = "p0123"
PATH = f"/v2/{PROJECT}/ocr/general-text"


def EchoEngine(delay: float = 0.0, queue_size: int = 4) -> OcrEngine:
    """The real engine's queue and accounting (through its public `executor` and `work`
    seams) over a thread that answers one block whose text is a digest of the image sent
    (after `delay` seconds)."""
    return OcrEngine(
        1, engine="echo", queue_size=queue_size,
        executor=lambda: ThreadPoolExecutor(1), work=functools.partial(_echo, delay),
    )


def _echo(delay: float, image: str | bytes, options: RecognizeOptions) -> PageText:
    time.sleep(delay)
    data = image if isinstance(image, bytes) else image.encode()
    text = hashlib.sha256(data).hexdigest()[:12]
    block = TextBlock(text, ((0, 0), (10, 0), (10, 10), (0, 10)), 1.0)
    return PageText((block,), 100, 100, seconds=delay)


def echo_text(image: str) -> str:
    return hashlib.sha256(image.encode()).hexdigest()[:12]


@dataclass
class Service:
    port: int
    app: web.Application

    @property
    def state(self) -> State:
        return self.app[STATE]

    @property
    def guard(self) -> ConnectionGuard:
        return self.app[CONNECTIONS]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@asynccontextmanager
async def serve(
    limits: ServiceLimits | None = None,
    *,
    auth: AuthConfig | None = None,
    engine: OcrEngine | None = None,
    required: bool = True,
) -> AsyncIterator[Service]:
    """The app as `running_service` serves it (guarded site, idle timeout), on port 0."""
    limits = limits or ServiceLimits()
    auth = auth or AuthConfig(credentials={AK: SK})
    app = create_app(engine or EchoEngine(), auth, auth_required=required, limits=limits)
    runner = web.AppRunner(
        app, access_log=None, keepalive_timeout=limits.idle_timeout, logger=HTTP_LOGGER,
        lingering_time=LINGERING_S,
    )
    await runner.setup()
    site = GuardedSite(runner, app[CONNECTIONS], host="127.0.0.1", port=0)
    await site.start()
    try:
        yield Service(site.port, app)
    finally:
        await runner.cleanup()


def signed(
    service: Service,
    body: bytes,
    *,
    path: str = PATH,
    host: str | None = None,
    extra: dict[str, str] | None = None,
    sk: str = SK,
) -> list[tuple[str, str]]:
    """Headers of a request signed as the SDK signs it (Host as `host`, default the
    service's own address), with Content-Length."""
    url = f"http://{host or f'127.0.0.1:{service.port}'}{path}"
    base = {"Content-Type": "application/json;charset=UTF-8", "X-Project-Id": PROJECT,
            **(extra or {})}
    headers = sign_request("POST", url, base, body, AK, sk)
    return [*headers.items(), ("Content-Length", str(len(body)))]


@dataclass
class RawAnswer:
    status: int
    headers: dict[str, str]
    body: Any = field(default=None)


async def read_answer(reader: asyncio.StreamReader) -> RawAnswer:
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("closed without an answer")
    status = int(status_line.split()[1])
    headers: dict[str, str] = {}
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    text = await reader.readexactly(int(headers.get("content-length", "0")))
    try:
        return RawAnswer(status, headers, json.loads(text) if text else None)
    except ValueError:  # aiohttp's own plain-text answers (malformed requests)
        return RawAnswer(status, headers, text.decode("utf-8", "replace"))


async def connect(
    service: Service, source: str = "127.0.0.1"
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", service.port, local_addr=(source, 0))


def head(method: str, path: str, headers: Sequence[tuple[str, str]]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1"] + [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def raw_request(
    service: Service,
    headers: Sequence[tuple[str, str]],
    body: bytes = b"",
    *,
    method: str = "POST",
    path: str = PATH,
    source: str = "127.0.0.1",
    seconds: float = 20.0,
) -> RawAnswer:
    """One request on a fresh connection, as given (duplicates kept); its answer."""
    reader, writer = await connect(service, source)
    try:
        writer.write(head(method, path, headers) + body)
        await writer.drain()
        return await asyncio.wait_for(read_answer(reader), seconds)
    finally:
        writer.close()


async def until(condition: Any, seconds: float = 10.0) -> None:
    """Wait (polling) until `condition()` is true; TimeoutError after `seconds`."""
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110 - a condition on the service's state
            await asyncio.sleep(0.02)
