"""Shared fixtures (helpers live in tests/support/, the fakes in `pipeline.testing`).

- `ocr_service`: the embedded OCR service (real RapidOCR, one worker), started once per
  test session in a background thread with its own event loop, so that tests on any event
  loop, and synchronous code such as the Huawei SDK, can call it. It checks AK/SK
  signatures with the pair it exposes (`.ak`, `.sk`). A test that uses it is marked
  `slow` automatically.
- `scripted_service`: the same service on the model-free "scripted" engine (answers
  "page <tag>" / "page #<hash>"), for fast tests of everything but recognition.
- `corpus_dir`: ../shared/corpus beside the repository; tests that use it skip when absent.
- `make_text_image`: draws lines of text on a white page (PIL default font, scaled up).
- `server`: the testing kit's fault-injecting fake OCR server, accepting FAKE_AK/FAKE_SK.
- `postgres_url`, `store_url` (SQLite and PostgreSQL): tests/support/postgres.py.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import aiohttp
import pytest
from PIL import Image, ImageDraw, ImageFont

from pipeline.service.server import ServiceConfig
from pipeline.testing import FakeOcrServer
from tests.support.jobs import FAKE_AK, FAKE_SK
from tests.support.paths import CORPUS_DIR
from tests.support.s3server import DUMMY_ENV, MotoS3
from tests.support.service import TEST_AK, TEST_PROJECT_ID, TEST_SK, OcrService, ServiceThread

pytest_plugins = ["tests.support.postgres"]

SLOW_FIXTURES = frozenset({"ocr_service", "tesseract_service", "tls_service"})
"""Fixtures that run the real OCR engine: a test that uses one is `slow`."""
SLOW_TIERS = frozenset({"e2e"})
"""Test folders whose every test is `slow` (the end-to-end tier runs the CLI in subprocesses)."""
TESTS_DIR = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        tier = item.path.relative_to(TESTS_DIR).parts[0]
        if tier in SLOW_TIERS or SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def _service(engine: str) -> Iterator[OcrService]:
    config = ServiceConfig(port=0, workers=1, credentials={TEST_AK: TEST_SK}, engine=engine)
    thread = ServiceThread(config)
    url = thread.start()
    try:
        yield OcrService(url=url, ak=TEST_AK, sk=TEST_SK, project_id=TEST_PROJECT_ID)
    finally:
        thread.stop()


@pytest.fixture(scope="session")
def ocr_service() -> Iterator[OcrService]:
    yield from _service("rapidocr")


@pytest.fixture(scope="session")
def scripted_service() -> Iterator[OcrService]:
    yield from _service("scripted")


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
    """The testing kit's fault-injecting fake OCR server, accepting FAKE_AK/FAKE_SK."""
    async with FakeOcrServer(credentials={FAKE_AK: FAKE_SK}) as fake:
        yield fake


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[MotoS3]:
    """moto's S3 server on 127.0.0.1 (tests/support/s3server.py), started once per session."""
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
