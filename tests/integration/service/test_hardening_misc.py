"""Smaller holes (issue 11, class 8) and the engine (class 5): the SSRF guard and IPv6
transition addresses, `--no-auth` off loopback, the OCR client's answer cap, credentials
files holding a password; an engine worker dying under one page of several, and pages
recognised smaller than sent.
"""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from PIL import Image

from pipeline.errors import ConfigError, PageOcrError
from pipeline.ocr.client import MAX_ANSWER_BYTES
from pipeline.ocr.credentials import load_credentials
from pipeline.ocr.token import load_iam_password
from pipeline.protocol.addresses import public_address
from pipeline.service.apierror import ApiError, SetupError
from pipeline.service.blocks import CharBox, TextBlock, scale_blocks
from pipeline.service.engine import OcrEngine, PageText, RecognizeOptions
from pipeline.service.fetch import Fetcher
from pipeline.service.images import load_page, load_page_sized
from pipeline.service.server import ServiceConfig, check_config
from pipeline.workers import process_pool
from tests.integration.ocr.test_client import REQUEST, make_client


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("::ffff:0:7f00:1", False),  # IPv4-translated 127.0.0.1
        ("::ffff:127.0.0.1", False),  # IPv4-mapped
        ("2002:7f00:1::1", False),  # 6to4 of 127.0.0.1
        ("2002:a9fe:a9fe::1", False),  # 6to4 of the metadata address
        ("64:ff9b::a9fe:a9fe", False),  # NAT64 of 169.254.169.254
        ("64:ff9b::a00:1", False),  # NAT64 of 10.0.0.1
        ("64:ff9b:1::a9fe:a9fe", False),  # local-use NAT64
        ("::7f00:1", False),  # IPv4-compatible 127.0.0.1
        ("::a00:1", False),  # IPv4-compatible 10.0.0.1
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),  # Teredo, client 192.0.2.45
        ("2001:0:7f00:1:8000:63bf:3fff:fdd2", False),  # Teredo, server 127.0.0.1
        ("::1", False),
        ("::", False),
        ("fe80::1%eth0", False),
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("64:ff9b::808:808", True),  # NAT64 of a public address
        ("2002:808:808::1", True),  # 6to4 of a public address
    ],
)
def test_ipv6_transition_addresses_are_judged_by_their_ipv4(address: str, public: bool) -> None:
    assert public_address(address) is public


@pytest.mark.parametrize("host", ["[::ffff:0:7f00:1]", "[2002:7f00:1::1]", "[::7f00:1]",
                                  "[64:ff9b::a9fe:a9fe]", "127.1", "0x7f000001", "2130706433"])
async def test_urls_naming_such_addresses_are_refused(host: str) -> None:
    fetcher = Fetcher()
    await fetcher.start()
    try:
        with pytest.raises(ApiError) as caught:
            await fetcher.fetch(f"http://{host}:9/x.png")
        assert caught.value.kind.code == "ModelArts.4601", caught.value.message
    finally:
        await fetcher.close()


def test_no_auth_off_loopback_needs_insecure() -> None:
    for host in ("0.0.0.0", "192.168.1.10", "::", "ocr.example.com"):
        with pytest.raises(SetupError, match="--insecure"):
            check_config(ServiceConfig(host=host, auth_required=False))
        check_config(ServiceConfig(host=host, auth_required=False, insecure=True))
    for host in ("127.0.0.1", "127.0.0.2", "::1", "localhost"):
        check_config(ServiceConfig(host=host, auth_required=False))


@pytest.fixture
async def huge_answer_server() -> AsyncIterator[str]:
    async def answer(request: web.Request) -> web.StreamResponse:
        await request.read()
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        await response.write(b'{"result": {"words_block_list": [')
        block = b'{"words": "' + b"x" * 1000 + b'", "location": [[0,0],[1,0],[1,1],[0,1]]},'
        for _ in range(MAX_ANSWER_BYTES // len(block) + 100):  # chunked: no length
            await response.write(block)
        await response.write(b"{}]}}")
        return response

    app = web.Application()
    app.router.add_post("/{tail:.*}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{site.port}"
    finally:
        await runner.cleanup()


async def test_the_client_reads_answers_with_a_size_cap(huge_answer_server: str) -> None:
    async with aiohttp.ClientSession() as session:
        client = make_client(session, huge_answer_server, timeout=60)
        with pytest.raises(PageOcrError, match="over 32 MB"):
            await client.recognize(REQUEST)


def test_a_credentials_file_with_a_password_must_be_private(tmp_path: Path) -> None:
    file = tmp_path / "credentials.toml"
    file.write_text('ak = "AK"\nsk = "SK"\niam_password = "TOPSECRET"\n')
    file.chmod(0o640)
    for load in (lambda: load_credentials(file), lambda: load_iam_password({}, file)):
        with pytest.raises(ConfigError, match=f"chmod 600 {file}") as caught:
            load()
        assert "TOPSECRET" not in str(caught.value)
    file.chmod(0o600)
    assert load_credentials(file).ak == "AK"
    assert load_iam_password({}, file) == "TOPSECRET"
    plain = tmp_path / "plain.toml"
    plain.write_text('ak = "AK"\nsk = "SK"\n')
    plain.chmod(0o644)  # no password: used, with a warning (as before)
    assert load_credentials(plain).ak == "AK"


def test_a_credentials_file_that_is_not_utf8_is_a_clear_error(tmp_path: Path) -> None:
    file = tmp_path / "credentials.toml"
    file.write_bytes(b'ak = "AK"\nsk = "S\xff\xfeK"\niam_password = "pw"\n')
    file.chmod(0o600)
    for load in (lambda: load_credentials(file), lambda: load_iam_password({}, file)):
        with pytest.raises(ConfigError, match="not UTF-8"):
            load()


# ---- an engine worker dies under one page of several ------------------------------------


def scripted_page(image: str | bytes, options: RecognizeOptions) -> PageText:
    """Runs in a worker process: "die" kills it, "slow" takes a second, else answers."""
    text = image if isinstance(image, str) else image.decode()
    if text == "die":
        os._exit(1)
    if text == "slow":
        time.sleep(1.0)
    return PageText((), len(text), os.getpid())


@pytest.mark.slow  # 2 s and more (measured)
async def test_a_dying_worker_fails_only_its_own_page() -> None:
    # the real engine over real worker processes that run `scripted_page`
    engine = OcrEngine(
        2, engine="die-on-request", queue_size=4,
        executor=lambda: process_pool(1), work=scripted_page,
    )
    await engine.start()
    try:
        slow = asyncio.create_task(engine.recognize("slow", RecognizeOptions()))
        await asyncio.sleep(0.2)  # "slow" is on one worker; "die" goes to the other
        with pytest.raises(ApiError) as caught:
            await engine.recognize("die", RecognizeOptions())  # kills it, then its successor
        assert caught.value.kind.code == "ModelArts.4503"
        assert caught.value.retry_after is not None
        page = await slow
        assert page.width == 4  # the page on the other worker got its answer
        again = await engine.recognize("fine", RecognizeOptions())
        assert again.width == 4
        assert engine.depth == 0
    finally:
        await engine.close()


# ---- pages recognised smaller than sent: boxes back in the pixels sent ------------------


def _encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def test_a_large_page_is_recognised_at_the_engines_size_and_keeps_its_sent_size() -> None:
    page, sent = load_page_sized(_encoded(Image.new("RGB", (4000, 3000), "white"), "PNG"),
                                 max_side=2000)
    assert (page.size, sent) == ((2000, 1500), (4000, 3000))
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned by 90 degrees
    turned = _encoded(Image.new("RGB", (4000, 3000), "white"), "JPEG", exif=exif)
    page, sent = load_page_sized(turned, max_side=2000)
    assert (page.size, sent) == ((1500, 2000), (3000, 4000))
    small = _encoded(Image.new("RGB", (800, 600), "white"), "PNG")
    assert load_page_sized(small, max_side=2000)[0].size == (800, 600)
    assert load_page(small).size == (800, 600)


def test_boxes_found_on_the_smaller_page_are_scaled_back() -> None:
    char = CharBox("a", ((1, 2), (3, 2), (3, 4), (1, 4)), 0.9)
    block = TextBlock("ab", ((10, 20), (30, 20), (30, 40), (10, 40)), 0.8, (char,))
    (scaled,) = scale_blocks([block], 2.0, 2.5)
    assert scaled.location == ((20, 50), (60, 50), (60, 100), (20, 100))
    assert scaled.chars[0].location == ((2, 5), (6, 5), (6, 10), (2, 10))
    assert (scaled.words, scaled.confidence) == ("ab", 0.8)


def test_ocrpipe_serve_refuses_no_auth_on_the_network() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "serve", "--no-auth", "--host", "0.0.0.0",
         "--state", "none"],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "--insecure" in done.stderr
