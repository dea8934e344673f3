"""Talking to a running OCR service in tests: the service in a thread with the credentials
it accepts (`OcrService`, `ServiceThread`), signed calls (`call`) and checks of the answer."""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import io
import json
import re
import struct
import threading
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp
from PIL import Image

from pipeline.protocol.signing import sign_request
from pipeline.service.authfile import AuthConfig, hash_password
from pipeline.service.server import ServiceConfig, running_service

TEST_AK = "OCRPIPETESTAK000001"
TEST_SK = "test-only-secret-0123456789"
TEST_PROJECT_ID = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"


@dataclass(frozen=True)
class OcrService:
    """A running embedded OCR service and the credentials it accepts."""

    url: str
    ak: str
    sk: str
    project_id: str

    def api_url(self, api: str = "general-text") -> str:
        return f"{self.url}/v2/{self.project_id}/ocr/{api}"

    def signed_headers(
        self,
        body: bytes,
        *,
        url: str | None = None,
        method: str = "POST",
        headers: Mapping[str, str] | None = None,
        sk: str | None = None,
        now: datetime | None = None,
    ) -> dict[str, str]:
        """Headers for a JSON request to `url` (default: general-text), signed as the SDK
        signs (Content-Type, X-Project-Id, Host, X-Sdk-Date, Authorization)."""
        base = {
            "Content-Type": "application/json;charset=UTF-8",
            "X-Project-Id": self.project_id,
            **(headers or {}),
        }
        return sign_request(
            method, url or self.api_url(), base, body, self.ak, sk or self.sk, now=now
        )


class ServiceThread:
    """`running_service(config)` in a daemon thread with its own event loop."""

    def __init__(self, config: ServiceConfig) -> None:
        self._config = config
        self._started: concurrent.futures.Future[str] = concurrent.futures.Future()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="ocr-service", daemon=True)

    def start(self, timeout: float = 120.0) -> str:
        self._thread.start()
        return self._started.result(timeout=timeout)

    def stop(self, timeout: float = 60.0) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:
            if not self._started.done():
                self._started.set_exception(exc)
            else:
                raise

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with running_service(self._config) as url:
            self._started.set_result(url)
            await self._stop.wait()


@contextmanager
def scripted_service() -> Iterator[OcrService]:
    """The embedded service with the scripted engine (each page answered with its tag),
    the test credentials and `ADMIN_KEY` for its admin endpoints (`/v1/usage`): what the
    billing tests count calls against."""
    auth = AuthConfig(credentials={TEST_AK: TEST_SK},
                      admin_key_hash=hash_password(ADMIN_KEY, iterations=1000))
    thread = ServiceThread(ServiceConfig(port=0, workers=1, engine="scripted", auth=auth))
    url = thread.start()
    try:
        yield OcrService(url=url, ak=TEST_AK, sk=TEST_SK, project_id=TEST_PROJECT_ID)
    finally:
        thread.stop()


REQUEST_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass
class Answer:
    status: int
    body: Any
    request_id: str


async def call(
    service: OcrService,
    body: bytes | dict[str, Any],
    *,
    url: str | None = None,
    method: str = "POST",
    sign: bool = True,
    headers: dict[str, str] | None = None,
    sk: str | None = None,
    now: datetime | None = None,
) -> Answer:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    target = url or service.api_url()
    if sign:
        sent = service.signed_headers(
            data, url=target, method=method, headers=headers, sk=sk, now=now
        )
    else:
        sent = {"Content-Type": "application/json", **(headers or {})}
    payload = io.BytesIO(data) if len(data) > 1024 * 1024 else data  # aiohttp warns on big bytes
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, target, data=payload, headers=sent) as response,
    ):
        text = await response.text()
        return Answer(response.status, json.loads(text), response.headers["X-Request-Id"])


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def words(answer: Answer) -> list[str]:
    return [block["words"] for block in answer.body["result"]["words_block_list"]]


def assert_error(answer: Answer, status: int, code: str) -> None:
    assert answer.status == status, answer.body
    assert answer.body["error_code"] == code, answer.body
    assert answer.body["error_msg"]
    assert REQUEST_ID.match(answer.request_id)
    if code.startswith("APIG."):
        assert answer.body["request_id"] == answer.request_id
    else:
        assert "request_id" not in answer.body


def encoded(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def png(image: Image.Image) -> bytes:
    return encoded(image, "PNG")


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height (the pixel data is a stub)."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


# ---- recognition -----------------------------------------------------------------------


# the auth and usage tests' users (tests/integration/service/test_auth.py)
PASSWORD = "correct horse battery staple"
ADMIN_KEY = "admin-key-for-tests"
PROJECT = "cn-north-4"


async def get_token(service: OcrService, scope: bool = True, password: str = PASSWORD) -> Any:
    body: dict[str, Any] = {"auth": {"identity": {"methods": ["password"], "password": {
        "user": {"name": "alice", "password": password, "domain": {"name": "acme"}}}}}}
    if scope:
        body["auth"]["scope"] = {"project": {"name": PROJECT}}
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{service.url}/v3/auth/tokens", json=body) as response,
    ):
        return response.status, response.headers.get("X-Subject-Token"), await response.json()


async def usage(service: OcrService, key: str | None = ADMIN_KEY) -> tuple[int, Any]:
    headers = {"X-Admin-Key": key} if key else {}
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{service.url}/v1/usage", headers=headers) as response,
    ):
        return response.status, await response.json()
