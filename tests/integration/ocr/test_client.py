"""The raw OCR client against the fake server: request shape, signature, error mapping,
transport faults; and the credentials loader."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest

from pipeline.errors import (
    ConfigError,
    OcrAuthError,
    OcrConfigError,
    OcrError,
    OutcomeUnknown,
    PageOcrError,
    RetryableOcrError,
)
from pipeline.models import OcrRequest
from pipeline.ocr.client import OcrClient, parse_result
from pipeline.ocr.credentials import Credentials, load_credentials
from pipeline.ocr.errors_map import ConnectFailed, PayloadTooLarge, TokenExpired
from pipeline.testing import FakeOcrServer, Reply, free_port
from tests.support.jobs import FAKE_AK, FAKE_SK

AK, SK = FAKE_AK, FAKE_SK
REQUEST = OcrRequest(
    doc_key="a/b.pdf",
    page_index=0,
    image_b64="aGVsbG8=",
    width=1,
    height=1,
    options=(("detect_direction", True), ("language", "en")),
)


def make_client(
    session: aiohttp.ClientSession, endpoint: str, *, sk: str = SK, timeout: float = 2.0
) -> OcrClient:
    return OcrClient(
        session,
        endpoint=endpoint,
        project_id="0123456789abcdef0123456789abcdef",
        credentials=Credentials(AK, sk),
        enterprise_project_id="finance",
        timeout=timeout,
    )


async def test_success_builds_a_signed_request_and_parses_the_result(
    server: FakeOcrServer, session: aiohttp.ClientSession
) -> None:
    server.script(Reply.ok(("Invoice No. 4711", 0.9981), ("Total 12.00", None), direction=90.5,
                           extra={"markdown_result": "x", "unknown_key": [1]}))
    client = make_client(session, server.url + "/")
    result = await client.recognize(replace(REQUEST, width=800, height=600))

    assert [b.text for b in result.blocks] == ["Invoice No. 4711", "Total 12.00"]
    assert result.blocks[0].box == ((12, 30), (220, 30), (220, 58), (12, 58))
    assert result.blocks[0].confidence == pytest.approx(0.9981)
    assert result.blocks[1].confidence == 1.0  # missing confidence tolerated
    assert (result.width, result.height, result.direction) == (800, 600, 90.5)
    assert len(result.request_id) == 32

    call = server.calls[0]
    assert call.path == f"/v2/{server.project_id}/ocr/general-text"
    assert call.signature_error is None
    assert call.json == {"image": "aGVsbG8=", "detect_direction": True, "language": "en"}
    assert call.headers["Content-Type"] == "application/json;charset=utf-8"
    assert call.headers["X-Project-Id"] == server.project_id
    assert call.headers["Enterprise-Project-Id"] == "finance"
    assert call.headers["Authorization"].startswith(f"SDK-HMAC-SHA256 Access={AK}, ")
    assert SK not in json.dumps(call.headers)


async def test_smart_document_recognizer_sends_data_and_reads_a_list(
    server: FakeOcrServer, session: aiohttp.ClientSession
) -> None:
    block = {"words": "Hi", "location": [[1, 2], [30, 2], [30, 9], [1, 9]], "confidence": 0.5}
    body = {"result": [{"ocr_result": {"direction": 0, "words_block_list": [block]},
                        "kv_result": {}}]}
    server.script(Reply.raw(200, json.dumps(body).encode(), "application/json"))
    request = OcrRequest(doc_key="d", page_index=1, image_b64="QQ==", width=40, height=20,
                         api="smart-document-recognizer")
    result = await make_client(session, server.url).recognize(request)
    assert server.calls[0].json == {"data": "QQ=="}
    assert server.calls[0].api == "smart-document-recognizer"
    assert [(b.text, b.box[2], b.confidence) for b in result.blocks] == [("Hi", (30, 9), 0.5)]
    assert result.direction == 0.0


def test_parse_result_flattens_table_regions_and_rejects_non_results() -> None:
    region = {"type": "table", "words_block_list": [
        {"words": "cell", "location": [[0.4, 1.6], [9, 1], [9, 5], [0, 5]], "rows": [0]}]}
    payload = json.dumps({"result": {"words_region_list": [region]}}).encode()
    result = parse_result(payload, width=10, height=10, request_id="r")
    assert result.blocks[0].text == "cell"
    assert result.blocks[0].box[0] == (0, 2)
    assert result.direction == -1.0
    with pytest.raises(ValueError, match="not JSON"):
        parse_result(b"<html>", width=1, height=1, request_id="")
    with pytest.raises(ValueError, match="no 'result'"):
        parse_result(b'{"data": 1}', width=1, height=1, request_id="")


@pytest.mark.parametrize(
    ("reply", "expected", "code"),
    [
        (Reply.error(401, "APIG.0301"), OcrAuthError, "APIG.0301"),
        (Reply.error(401, "ModelArts.0212"), OcrAuthError, "ModelArts.0212"),
        (Reply.error(401, "ModelArts.4102"), OcrAuthError, "ModelArts.4102"),
        (Reply.error(401, "APIG.0307"), TokenExpired, "APIG.0307"),
        (Reply.error(404, "APIG.0101"), OcrConfigError, "APIG.0101"),
        (Reply.error(403, "ModelArts.4204"), OcrConfigError, "ModelArts.4204"),
        (Reply.error(429, "APIG.0308"), RetryableOcrError, "APIG.0308"),
        (Reply.error(429, "ModelArts.4401"), RetryableOcrError, "ModelArts.4401"),
        (Reply.error(503, "ModelArts.4503"), RetryableOcrError, "ModelArts.4503"),
        (Reply.error(504, "APIG.0201"), RetryableOcrError, "APIG.0201"),
        (Reply.error(413, "APIG.0201"), PayloadTooLarge, "APIG.0201"),
        (Reply.error(400, "ModelArts.4104"), PayloadTooLarge, "ModelArts.4104"),
        (Reply.error(400, "ModelArts.4105"), PageOcrError, "ModelArts.4105"),
        (Reply.error(400, "ModelArts.4603"), PageOcrError, "ModelArts.4603"),
        (Reply.error(400, "APIG.0106"), PageOcrError, "APIG.0106"),
        (Reply.error(400, "AIS.0103"), PageOcrError, "AIS.0103"),
        (Reply.error(400, "AIS.0105"), PageOcrError, "AIS.0105"),
        (Reply.raw(502, b"<html>Bad Gateway</html>", "text/html"), RetryableOcrError, None),
        (Reply.raw(418, b"teapot"), PageOcrError, None),
        (Reply.raw(404, b""), OcrConfigError, None),
    ],
)
async def test_error_answers_map_to_the_error_tree(
    server: FakeOcrServer,
    session: aiohttp.ClientSession,
    reply: Reply,
    expected: type[OcrError],
    code: str | None,
) -> None:
    server.script(reply)
    with pytest.raises(expected) as caught:
        await make_client(session, server.url).recognize(REQUEST)
    err = caught.value
    assert type(err) is expected
    assert (err.code, err.status) == (code, reply.status)
    assert err.request_id and len(err.request_id) == 32
    assert not isinstance(err, OutcomeUnknown)
    assert SK not in str(err)


async def test_messages_say_what_to_check(
    server: FakeOcrServer, session: aiohttp.ClientSession
) -> None:
    server.script(Reply.error(404, "APIG.0101"), Reply.raw(502, b"<html>Bad Gateway</html>"))
    client = make_client(session, server.url)
    with pytest.raises(OcrConfigError) as config:
        await client.recognize(REQUEST)
    for part in (server.url, "0123456789abcdef0123456789abcdef", "general-text"):
        assert part in str(config.value)
    with pytest.raises(RetryableOcrError, match="Bad Gateway"):
        await client.recognize(REQUEST)


async def test_bad_secret_is_a_clear_auth_error_without_the_secret(
    server: FakeOcrServer, session: aiohttp.ClientSession
) -> None:
    wrong = "sk-wrong-secret"
    with pytest.raises(OcrAuthError) as caught:
        await make_client(session, server.url, sk=wrong).recognize(REQUEST)
    assert server.calls[0].signature_error == "signature does not match"
    message = str(caught.value)
    assert "HUAWEICLOUD_SDK_AK" in message and "HUAWEICLOUD_SDK_SK" in message
    assert wrong not in message and SK not in message


async def test_retry_after_seconds_and_gateway_default(
    server: FakeOcrServer, session: aiohttp.ClientSession
) -> None:
    server.script(Reply.error(429, "APIG.0308", retry_after=7), Reply.error(502, "APIG.0201"))
    client = make_client(session, server.url)
    with pytest.raises(RetryableOcrError) as throttled:
        await client.recognize(REQUEST)
    assert throttled.value.retry_after == 7.0
    with pytest.raises(RetryableOcrError) as gateway:
        await client.recognize(REQUEST)
    assert gateway.value.retry_after == 2.0


async def test_timeout_after_sending_is_outcome_unknown(
    server: FakeOcrServer, session: aiohttp.ClientSession
) -> None:
    server.script(Reply.hang())
    with pytest.raises(OutcomeUnknown, match="may have been processed and billed"):
        await make_client(session, server.url, timeout=0.5).recognize(REQUEST)
    assert server.call_count == 1


async def test_dropped_connection_is_outcome_unknown(
    server: FakeOcrServer, session: aiohttp.ClientSession
) -> None:
    server.script(Reply.drop())
    with pytest.raises(OutcomeUnknown, match="connection lost"):
        await make_client(session, server.url).recognize(REQUEST)


async def test_answer_cut_off_after_200_is_retryable_and_billed(
    server: FakeOcrServer, session: aiohttp.ClientSession
) -> None:
    server.script(Reply.cut())
    with pytest.raises(RetryableOcrError, match="billed") as caught:
        await make_client(session, server.url).recognize(REQUEST)
    assert not isinstance(caught.value, OutcomeUnknown)
    assert caught.value.status == 200


async def test_200_that_is_not_a_result_is_a_config_error(
    server: FakeOcrServer, session: aiohttp.ClientSession
) -> None:
    server.script(Reply.raw(200, b"<html>welcome</html>", "text/html"))
    with pytest.raises(OcrConfigError, match="not with a recognition result") as caught:
        await make_client(session, server.url).recognize(REQUEST)
    assert caught.value.status == 200


async def test_connection_refused_is_retryable_but_not_unknown(
    session: aiohttp.ClientSession,
) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ConnectFailed) as caught:
        await make_client(session, endpoint).recognize(REQUEST)
    assert isinstance(caught.value, RetryableOcrError)
    assert not isinstance(caught.value, OutcomeUnknown)
    assert endpoint in str(caught.value)


@pytest.mark.parametrize("endpoint", ["ocr.example.com", "ftp://x", "embedded"])
async def test_bad_endpoint_is_a_config_error(
    session: aiohttp.ClientSession, endpoint: str
) -> None:
    with pytest.raises(ConfigError, match="must look like"):
        make_client(session, endpoint)


# --- credentials -------------------------------------------------------------------


def test_credentials_repr_hides_the_secret() -> None:
    creds = Credentials("AKABCDEFGHIJKLMN", SK)
    assert SK not in repr(creds) and SK not in str(creds) and SK not in f"{creds}"
    assert "AKAB...KLMN" in repr(creds)


def test_environment_wins(tmp_path: Path) -> None:
    env = {"HUAWEICLOUD_SDK_AK": AK, "HUAWEICLOUD_SDK_SK": SK,
           "OCRPIPE_CREDENTIALS": str(tmp_path / "nope.toml")}
    assert load_credentials(environ=env) == Credentials(AK, SK)


def test_only_one_env_var_names_the_other() -> None:
    with pytest.raises(ConfigError, match="HUAWEICLOUD_SDK_SK is not"):
        load_credentials(environ={"HUAWEICLOUD_SDK_AK": AK})


def test_file_from_ocrpipe_credentials(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    file = tmp_path / "creds.toml"
    file.write_text(f'ak = "{AK}"\nsk = "{SK}"\n')
    file.chmod(0o600)
    with caplog.at_level(logging.WARNING):
        assert load_credentials(environ={"OCRPIPE_CREDENTIALS": str(file)}) == Credentials(AK, SK)
    assert not caplog.records
    file.chmod(0o644)
    with caplog.at_level(logging.WARNING):
        assert load_credentials(file) == Credentials(AK, SK)
    assert "chmod 600" in caplog.text and SK not in caplog.text


def test_missing_everything_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(ConfigError) as caught:
        load_credentials(environ={})
    message = str(caught.value)
    assert "HUAWEICLOUD_SDK_AK" in message and "HUAWEICLOUD_SDK_SK" in message
    assert str(tmp_path / ".config/ocrpipe/credentials.toml") in message


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (f'ak = "{AK}"\n', "two non-empty strings"),
        (f'ak = "{AK}"\nsk = "{SK}"\nregion = "x"\n', "unknown keys region"),
        (f'ak = "{AK}"\nsk = {SK}\n', "not valid TOML"),
    ],
)
def test_bad_files_are_config_errors_without_the_secret(
    tmp_path: Path, text: str, match: str
) -> None:
    file = tmp_path / "c.toml"
    file.write_text(text)
    file.chmod(0o600)
    with pytest.raises(ConfigError, match=match) as caught:
        load_credentials(file)
    assert SK not in str(caught.value)
