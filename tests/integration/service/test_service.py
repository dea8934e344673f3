"""The embedded OCR service over real HTTP: recognition, limits, errors, auth, health.

Most tests share the session's `ocr_service` (one RapidOCR worker, signatures checked).
"""

from __future__ import annotations

import io
import json
import logging
import multiprocessing
import os
import re
import signal
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from PIL import Image, ImageDraw, ImageFont

from pipeline.service.apierror import SetupError
from pipeline.service.auth import load_auth
from pipeline.service.blocks import TextBlock, reading_order, to_corners, to_markdown
from pipeline.service.images import render_scale, to_rgb
from pipeline.service.server import ServiceConfig, running_service
from pipeline.testing import make_page
from pipeline.testing.cer import cer
from tests.support.paths import SAMPLES_DIR
from tests.support.service import (
    REQUEST_ID,
    Answer,
    OcrService,
    assert_error,
    b64,
    call,
    encoded,
    png,
    png_header_only,
    words,
)

PHOTOTEST_MAX_CER = 0.01
"""Measured: RapidOCR 3.10 (PP-OCRv6 small, use_cls off) gives CER 0.0 on tess_phototest
(8 lines, all exact); 0.01 leaves room for a model update changing a character or two."""


async def test_phototest_words_match_ground_truth(ocr_service: OcrService) -> None:
    page = SAMPLES_DIR / "tess_phototest.tif"
    truth = (SAMPLES_DIR / "tess_phototest.gt.txt").read_text(encoding="utf-8")
    answer = await call(ocr_service, {"image": b64(page.read_bytes())})

    assert answer.status == 200, answer.body
    assert REQUEST_ID.match(answer.request_id)
    result = answer.body["result"]
    assert result["direction"] == -1
    assert result["words_block_count"] == len(result["words_block_list"]) == 8
    error = cer("\n".join(words(answer)), truth)
    assert error <= PHOTOTEST_MAX_CER, (error, words(answer))
    tops = []
    for block in result["words_block_list"]:
        corners = block["location"]
        assert len(corners) == 4 and all(
            len(c) == 2 and all(isinstance(v, int) for v in c) for c in corners
        )
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = corners
        assert x0 < x1 and y1 < y2 and x2 > x3 and y3 > y0  # clockwise from top-left
        assert 0 <= x0 and x1 <= 640 and 0 <= y0 and y2 <= 480
        assert 0.5 < block["confidence"] <= 1.0
        tops.append(y0)
    assert tops == sorted(tops)


async def test_dense_small_print_on_a_300_dpi_a4_page_is_read(ocr_service: OcrService) -> None:
    """40 lines of 7-point text, 42 pixels apart, on a 2480 x 3508 page: detected on the
    page scaled down to 1280 pixels (rapid.DETECTION_MAX_SIDE), every line must still be
    found and read (at 640 pixels lines merge and one is lost)."""
    lines = [f"Line {n} of the small print: invoice 47{n}1 due on {n % 28 + 1} March, "
             f"ref AB-{n * 37}" for n in range(40)]
    page = Image.new("L", (2480, 3508), 255)
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=30)  # 30 px at 300 dpi: 7 points
    for n, line in enumerate(lines):
        draw.text((200, 300 + n * 42), line, fill=0, font=font)
    answer = await call(ocr_service, {"image": b64(encoded(page, "PNG"))})
    assert answer.status == 200, answer.body
    assert len(words(answer)) == len(lines), words(answer)
    error = cer("\n".join(words(answer)), "\n".join(lines))
    assert error <= 0.01, (error, words(answer))


@pytest.mark.parametrize("content_type", ["application/json", "application/json;charset=utf-8"])
async def test_both_json_content_types_are_accepted(
    ocr_service: OcrService, make_text_image: Callable[..., bytes], content_type: str
) -> None:
    body = {"image": b64(make_text_image(["HELLO 2024"]))}
    answer = await call(ocr_service, body, headers={"Content-Type": content_type})
    assert answer.status == 200, answer.body
    assert words(answer) == ["HELLO 2024"]


async def test_pdf_page_number_selects_the_page(
    ocr_service: OcrService, two_page_pdf: bytes
) -> None:
    pdf = b64(two_page_pdf)

    answer = await call(ocr_service, {"image": pdf, "pdf_page_number": 2})
    assert answer.status == 200, answer.body
    assert words(answer) == ["Second page 42"]

    answer = await call(ocr_service, {"image": pdf})
    assert words(answer) == ["First page here"]

    assert_error(await call(ocr_service, {"image": pdf, "pdf_page_number": 3}), 400, "AIS.0101")


async def test_markdown_and_options_are_accepted(
    ocr_service: OcrService, make_text_image: Callable[..., bytes]
) -> None:
    body = {
        "image": b64(make_text_image(["Line one", "Line two"])),
        "return_markdown_result": True,
        "detect_direction": True,
        "quick_mode": False,
        "character_mode": True,
        "language": "en",
        "unknown_field": 1,
    }
    answer = await call(ocr_service, body)
    assert answer.status == 200, answer.body
    assert answer.body["result"]["markdown_result"] == "Line one\nLine two"


async def test_blank_page_is_an_empty_result(ocr_service: OcrService) -> None:
    answer = await call(ocr_service, {"image": b64(png(Image.new("RGB", (400, 300), "white")))})
    assert answer.status == 200, answer.body
    assert answer.body["result"]["words_block_count"] == 0
    assert answer.body["result"]["words_block_list"] == []


@pytest.mark.parametrize("mode", ["P", "LA", "1"])
async def test_palette_alpha_and_bilevel_images_are_read(
    ocr_service: OcrService, make_text_image: Callable[..., bytes], mode: str
) -> None:
    page = Image.open(io.BytesIO(make_text_image(["Palette 77"]))).convert("L")
    if mode == "LA":  # black text on a transparent background
        image = Image.merge("LA", (page, page.point(lambda v: 255 - v)))
    else:
        image = page.convert(mode)
    answer = await call(ocr_service, {"image": b64(png(image))})
    assert answer.status == 200, answer.body
    assert words(answer) == ["Palette 77"]


@pytest.mark.parametrize("fmt", ["JPEG", "BMP", "GIF", "TIFF", "WEBP"])
async def test_accepted_image_formats(
    ocr_service: OcrService, make_text_image: Callable[..., bytes], fmt: str
) -> None:
    answer = await call(ocr_service, {"image": b64(make_text_image(["Format 31"], fmt=fmt))})
    assert answer.status == 200, answer.body
    assert words(answer) == ["Format 31"]


async def test_exif_orientation_is_applied(
    ocr_service: OcrService, make_text_image: Callable[..., bytes]
) -> None:
    upright = Image.open(io.BytesIO(make_text_image(["Turned 180"])))
    exif = Image.Exif()
    exif[0x0112] = 3  # Orientation: rotate 180 to display
    buffer = io.BytesIO()
    upright.rotate(180).save(buffer, "JPEG", exif=exif.tobytes(), quality=95)
    answer = await call(ocr_service, {"image": b64(buffer.getvalue())})
    assert answer.status == 200, answer.body
    assert " ".join(words(answer)) == "Turned 180"


# ---- input errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        pytest.param(b'{"image": ', 400, "ModelArts.4105", id="invalid-json"),
        pytest.param(b"\xff\xfe\x00garbage", 400, "ModelArts.4105", id="not-utf8"),
        pytest.param(b'["image"]', 400, "AIS.0101", id="not-an-object"),
        pytest.param(b"{}", 400, "AIS.0101", id="neither-image-nor-url"),
        pytest.param(
            b'{"image": "aGVsbG8=", "url": "https://example.com/a.png"}',
            400,
            "AIS.0101",
            id="both-image-and-url",
        ),
        pytest.param(b'{"image": 12}', 400, "AIS.0101", id="image-not-a-string"),
        pytest.param(
            b'{"image": "aGVsbG8=", "pdf_page_number": "2"}', 400, "AIS.0101", id="page-type"
        ),
        pytest.param(
            b'{"image": "aGVsbG8=", "detect_direction": "yes"}', 400, "AIS.0101", id="bool-type"
        ),
        pytest.param(b'{"image": "not base64 at all!"}', 400, "AIS.0102", id="not-base64"),
        pytest.param(
            b'{"image": "data:image/png;base64,aGVsbG8="}', 400, "AIS.0102", id="data-url"
        ),
        pytest.param(
            json.dumps({"image": b64(b"just some text, not an image")}).encode(),
            400,
            "AIS.0102",
            id="text-bytes",
        ),
        pytest.param(
            json.dumps({"image": b64(b"%PDF-1.7\n garbage")}).encode(),
            400,
            "AIS.0102",
            id="broken-pdf",
        ),
        pytest.param(
            json.dumps({"image": b64(encoded(Image.new("RGB", (64, 64)), "PPM"))}).encode(),
            400,
            "AIS.0102",
            id="unsupported-format-ppm",
        ),
        pytest.param(
            json.dumps({"image": b64(png(Image.new("RGB", (10, 10), "white")))}).encode(),
            400,
            "AIS.0103",
            id="10x10-png",
        ),
        pytest.param(
            json.dumps({"image": b64(png_header_only(30001, 20))}).encode(),
            400,
            "AIS.0103",
            id="side-over-30000",
        ),
        pytest.param(
            json.dumps({"image": b64(png_header_only(12000, 14000))}).encode(),
            400,
            "AIS.0103",
            id="over-160-mpx",
        ),
        pytest.param(
            json.dumps({"image": b64(png_header_only(20000, 20000))}).encode(),
            400,
            "AIS.0103",
            id="decompression-bomb",
        ),
    ],
)
async def test_bad_input_is_rejected(
    ocr_service: OcrService, body: bytes, status: int, code: str
) -> None:
    assert_error(await call(ocr_service, body), status, code)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/page.png",
        "http://localhost/page.png",
        "http://10.1.2.3/page.png",
        "http://192.168.0.1/page.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/page.png",
        "http://[::ffff:127.0.0.1]/page.png",
        "http://0.0.0.0/page.png",
        "file:///etc/passwd",
    ],
)
async def test_url_to_a_non_public_address_is_refused(ocr_service: OcrService, url: str) -> None:
    answer = await call(ocr_service, {"url": url})
    assert_error(answer, 400, "ModelArts.4601")


async def test_url_that_cannot_be_downloaded_is_4603(ocr_service: OcrService) -> None:
    answer = await call(ocr_service, {"url": "http://no-such-host.invalid/page.png"})
    assert_error(answer, 400, "ModelArts.4603")


async def test_base64_over_10_mb_is_content_too_long(ocr_service: OcrService) -> None:
    body = {"image": "A" * (10 * 1024 * 1024 + 4)}
    assert_error(await call(ocr_service, body), 400, "ModelArts.4104")


async def test_body_over_12_mb_is_413_from_content_length(ocr_service: OcrService) -> None:
    body = b'{"image": "' + b"A" * (12 * 1024 * 1024) + b'"}'
    assert_error(await call(ocr_service, body, sign=False), 413, "APIG.0201")


async def test_body_over_12_mb_is_413_while_reading_chunked(ocr_service: OcrService) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(13):
            yield b"A" * (1024 * 1024)

    # Headers that pass the checks made before the body (a known AK, a fresh date): the
    # size is then found while reading, before the signature is checked.
    headers = ocr_service.signed_headers(b"")
    async with (
        aiohttp.ClientSession() as session,
        session.post(ocr_service.api_url(), data=chunks(), headers=headers) as response,
    ):
        body = await response.json()
        answer = Answer(response.status, body, response.headers["X-Request-Id"])
    assert_error(answer, 413, "APIG.0201")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v2/{project}/ocr/no-such-api"),
        ("POST", "/v2/{project}/ocr/general-text/extra"),
        ("POST", "/v1/somewhere"),
        ("GET", "/v2/{project}/ocr/general-text"),
        ("PUT", "/v2/{project}/ocr/general-text"),
        ("POST", "/health"),
    ],
)
async def test_unknown_api_path_or_method_is_404(
    ocr_service: OcrService, method: str, path: str
) -> None:
    url = ocr_service.url + path.format(project=ocr_service.project_id)
    answer = await call(ocr_service, {"image": "aGVsbG8="}, url=url, method=method)
    assert_error(answer, 404, "APIG.0101")


# ---- authentication ----------------------------------------------------------------------


async def test_unsigned_request_is_401(ocr_service: OcrService) -> None:
    assert_error(await call(ocr_service, {"image": "aGVsbG8="}, sign=False), 401, "APIG.0301")


async def test_wrong_secret_is_401(ocr_service: OcrService) -> None:
    answer = await call(ocr_service, {"image": "aGVsbG8="}, sk="wrong-secret")
    assert_error(answer, 401, "APIG.0301")


async def test_stale_signature_is_401(ocr_service: OcrService) -> None:
    stale = datetime.now(UTC) - timedelta(minutes=20)
    assert_error(await call(ocr_service, {"image": "aGVsbG8="}, now=stale), 401, "APIG.0301")


async def test_tampered_body_is_401(ocr_service: OcrService) -> None:
    body = b'{"image": "aGVsbG8="}'
    headers = ocr_service.signed_headers(body)
    async with (
        aiohttp.ClientSession() as session,
        session.post(ocr_service.api_url(), data=body + b" ", headers=headers) as response,
    ):
        answer = Answer(response.status, await response.json(), response.headers["X-Request-Id"])
    assert_error(answer, 401, "APIG.0301")


# ---- health, counters, logging -----------------------------------------------------------


async def health(service: OcrService) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{service.url}/health") as response,
    ):
        assert response.status == 200
        assert REQUEST_ID.match(response.headers["X-Request-Id"])
        body: dict[str, Any] = await response.json()
        return body


async def test_health_counts_requests_and_recognized_calls(
    ocr_service: OcrService,
    make_text_image: Callable[..., bytes],
    caplog: pytest.LogCaptureFixture,
) -> None:
    before = await health(ocr_service)
    assert before["status"] == "ok"
    caplog.set_level(logging.INFO, logger="pipeline.service")

    headers = {"Enterprise-Project-Id": "finance"}
    image = b64(make_text_image(["Count me"]))
    assert (await call(ocr_service, {"image": image}, headers=headers)).status == 200
    assert (await call(ocr_service, {"image": image}, sk="bad")).status == 401

    after = await health(ocr_service)
    assert after["requests"] == before["requests"] + 2
    assert after["recognized"] == before["recognized"] + 1

    lines = [r.getMessage() for r in caplog.records if r.name == "pipeline.service"]
    ok = [line for line in lines if "status=200" in line and "api=general-text" in line]
    assert any("enterprise_project=finance" in line for line in ok), lines
    assert any("status=401 error_code=APIG.0301" in line for line in lines), lines
    assert not any(ocr_service.sk in line or image[:40] in line for line in lines)


# ---- running_service in the current loop, configuration ----------------------------------


async def test_running_service_in_current_loop_without_auth_survives_a_dead_worker() -> None:
    config = ServiceConfig(port=0, workers=1, auth_required=False, engine="scripted")
    children_before = {child.pid for child in multiprocessing.active_children()}
    async with running_service(config) as url:
        assert re.match(r"^http://127\.0\.0\.1:\d+$", url)
        service = OcrService(url=url, ak="", sk="", project_id="p")
        body = {"image": b64(png(make_page("no-auth")))}
        answer = await call(service, body, sign=False)
        assert answer.status == 200, answer.body
        assert words(answer) == ["page no-auth"]

        workers = [c for c in multiprocessing.active_children() if c.pid not in children_before]
        assert len(workers) == 1 and workers[0].pid is not None
        os.kill(workers[0].pid, signal.SIGKILL)
        workers[0].join(10)
        answer = await call(service, body, sign=False)  # a fresh worker took the page
        assert answer.status == 200, answer.body
        assert words(answer) == ["page no-auth"]
        fresh = [c for c in multiprocessing.active_children() if c.pid not in children_before]
        assert [c.pid for c in fresh] != [workers[0].pid] and len(fresh) == 1


async def test_service_refuses_to_start_without_credentials() -> None:
    with pytest.raises(SetupError, match="--no-auth"):
        async with running_service(ServiceConfig(port=0, workers=1)):
            pass  # pragma: no cover


def test_load_credentials_from_file_and_environment(tmp_path: Path) -> None:
    auth_file = tmp_path / "auth.toml"
    auth_file.write_text(
        '[[credentials]]\nak = "AK1"\nsk = "SK1"\n\n[[credentials]]\nak = "AK2"\nsk = "SK2"\n'
    )
    env = {"HUAWEICLOUD_SDK_AK": "AK3", "HUAWEICLOUD_SDK_SK": "SK3"}
    assert load_auth(auth_file, env).credentials == {"AK1": "SK1", "AK2": "SK2", "AK3": "SK3"}
    assert load_auth(None, {}).credentials == {}


@pytest.mark.parametrize(
    "text",
    [
        'ak = "AK1"',
        "[[credentials]]\nak = ",
        '[[credentials]]\nak = "AK1"',
        '[[credentials]]\nak = "AK1"\nsk = ""',
        '[[credentials]]\nak = "AK1"\nsk = "TOPSECRET"\n[[credentials]]\nak = "AK1"\nsk = "x"',
        '[[credentials]]\nak = "AK1"\nsk = "TOPSECRET"\nextra = 1',
    ],
)
def test_bad_auth_file_is_a_clear_config_error(tmp_path: Path, text: str) -> None:
    auth_file = tmp_path / "auth.toml"
    auth_file.write_text(text)
    with pytest.raises(SetupError, match="auth file") as caught:
        load_auth(auth_file, {})
    assert "TOPSECRET" not in str(caught.value)


def test_missing_auth_file_and_half_set_environment_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(SetupError, match="Cannot read"):
        load_auth(tmp_path / "absent.toml", {})
    with pytest.raises(SetupError, match="HUAWEICLOUD_SDK_SK"):
        load_auth(None, {"HUAWEICLOUD_SDK_AK": "AK"})


# ---- units: decoding and reading order (no HTTP) -----------------------------------------


def test_wide_grey_and_cmyk_images_become_rgb() -> None:
    sixteen = Image.new("I;16", (40, 20), 0)
    sixteen.paste(65535, (0, 0, 20, 20))
    rgb = to_rgb(sixteen)
    assert rgb.mode == "RGB" and rgb.getpixel((0, 0)) == (255, 255, 255)
    assert rgb.getpixel((30, 10)) == (0, 0, 0)
    assert to_rgb(Image.new("CMYK", (20, 20), (0, 0, 0, 0))).getpixel((1, 1)) == (255, 255, 255)
    transparent = Image.new("RGBA", (20, 20), (0, 0, 0, 0))
    assert to_rgb(transparent).getpixel((1, 1)) == (255, 255, 255)


def test_pdf_render_scale_respects_dpi_and_caps() -> None:
    assert render_scale(595, 842) == pytest.approx(200 / 72)  # A4 at 200 dpi
    huge = render_scale(14400, 14400)  # a 200-inch square page
    assert 14400 * huge < 30000
    assert (14400 * huge) ** 2 == pytest.approx(60_000_000)


def block(text: str, left: int, top: int, width: int = 100, height: int = 20) -> TextBlock:
    corners = ((left, top), (left + width, top), (left + width, top + height), (left, top + height))
    return TextBlock(text, corners, 0.9)


def test_reading_order_is_lines_top_down_then_left_to_right() -> None:
    blocks = [
        block("right", 300, 12),
        block("second line", 10, 60),
        block("left", 10, 10),
        block("middle", 150, 14),
    ]
    assert [b.words for b in reading_order(blocks)] == ["left", "middle", "right", "second line"]
    assert to_markdown(blocks) == "left\tmiddle\tright\nsecond line"


def test_corners_are_ints_clockwise_from_top_left() -> None:
    shuffled = [[110.4, 30.0], [10.0, 60.2], [10.6, 30.1], [110.0, 59.5]]
    assert to_corners(shuffled) == ((11, 30), (110, 30), (110, 60), (10, 60))
