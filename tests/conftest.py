"""Shared fixtures.

- `ocr_service`: the embedded OCR service (real RapidOCR, one worker), started once per
  test session in a background thread with its own event loop, so that tests on any event
  loop, and synchronous code such as the Huawei SDK, can call it. It checks AK/SK
  signatures with the pair it exposes (`.ak`, `.sk`).
- `corpus_dir`: ../shared/corpus beside the repository; tests that use it skip when absent.
- `make_text_image`: draws lines of text on a white page (PIL default font, scaled up).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import io
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import aiohttp
import pytest
from PIL import Image, ImageDraw, ImageFont

from pipeline.protocol.signing import sign_request
from pipeline.service.server import ServiceConfig, running_service
from tests.faults import FAKE_AK, FAKE_SK, FakeOcrServer
from tests.s3server import DUMMY_ENV, MotoS3

REPO_ROOT = Path(__file__).resolve().parents[1]
CORPUS_DIR = REPO_ROOT.parent / "shared" / "corpus"

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


@pytest.fixture(scope="session")
def ocr_service() -> Iterator[OcrService]:
    config = ServiceConfig(port=0, workers=1, credentials={TEST_AK: TEST_SK})
    thread = ServiceThread(config)
    url = thread.start()
    try:
        yield OcrService(url=url, ak=TEST_AK, sk=TEST_SK, project_id=TEST_PROJECT_ID)
    finally:
        thread.stop()


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    if not CORPUS_DIR.is_dir():
        pytest.skip(f"the shared corpus is not present at {CORPUS_DIR}")
    return CORPUS_DIR


def draw_text_image(lines: list[str], *, size: int = 40, fmt: str = "PNG") -> bytes:
    """A white page with `lines` in black, encoded as `fmt`."""
    font = ImageFont.load_default(size=size)
    width = max(int(font.getlength(line)) for line in lines) + 2 * size
    height = (len(lines) + 1) * int(size * 1.6)
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    for number, line in enumerate(lines):
        draw.text((size, size // 2 + number * int(size * 1.6)), line, fill="black", font=font)
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


@pytest.fixture
def make_text_image() -> Callable[..., bytes]:
    return draw_text_image


@pytest.fixture
def two_page_pdf() -> bytes:
    """A 2-page PDF: "First page here", then "Second page 42"."""
    first = Image.open(io.BytesIO(draw_text_image(["First page here"])))
    second = Image.open(io.BytesIO(draw_text_image(["Second page 42"])))
    buffer = io.BytesIO()
    first.save(buffer, "PDF", save_all=True, append_images=[second], resolution=72.0)
    return buffer.getvalue()


@pytest.fixture
async def server() -> AsyncIterator[FakeOcrServer]:
    """A fault-injecting fake OCR service (tests/faults.py) accepting FAKE_AK/FAKE_SK."""
    async with FakeOcrServer(credentials={FAKE_AK: FAKE_SK}) as fake:
        yield fake


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[MotoS3]:
    """moto's S3 server on 127.0.0.1 (tests/s3server.py), started once per session."""
    server = MotoS3()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def s3(moto_s3: MotoS3, monkeypatch: pytest.MonkeyPatch) -> MotoS3:
    """The moto server, emptied, with dummy AWS credentials in the environment."""
    moto_s3.reset()
    for name, value in DUMMY_ENV.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # never ask an instance role
    return moto_s3
