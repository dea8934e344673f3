"""AK/SK signing: our signer and verifier against each other and against the official SDK."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from pipeline.protocol.signing import SignatureError, sign_request, verify_request

AK = "HPUAXXXXEXAMPLEAK"
SK = "s3cr3t-Example-Secret-Key-0123456789"
NOW = datetime(2025, 3, 14, 9, 26, 53, tzinfo=UTC)
URL = "http://127.0.0.1:8080/v2/0a1b2c3d/ocr/general-text"
BODY = b'{"image": "aGVsbG8=", "detect_direction": true}'
HEADERS = {
    "Content-Type": "application/json;charset=UTF-8",
    "X-Project-Id": "0a1b2c3d",
    "Enterprise-Project-Id": "finance",
    "User-Agent": "huaweicloud-usdk-python/3.0",
}


def secrets(ak: str) -> str | None:
    return {AK: SK}.get(ak)


def verify(
    url: str,
    headers: dict[str, str],
    body: bytes = BODY,
    *,
    method: str = "POST",
    now: datetime = NOW,
) -> str:
    parts = urlsplit(url)
    return verify_request(
        method,
        parts.path,
        parse_qsl(parts.query, keep_blank_values=True),
        headers,
        body,
        secrets,
        now=now,
    )


def test_round_trip_returns_the_access_key() -> None:
    signed = sign_request("POST", URL, HEADERS, BODY, AK, SK, now=NOW)
    assert signed["Host"] == "127.0.0.1:8080"
    assert signed["X-Sdk-Date"] == "20250314T092653Z"
    assert signed["Authorization"].startswith(
        f"SDK-HMAC-SHA256 Access={AK}, SignedHeaders=content-type;enterprise-project-id;"
        "host;user-agent;x-project-id;x-sdk-date, Signature="
    )
    assert HEADERS.items() <= signed.items() and "Host" not in HEADERS
    assert verify(URL, signed) == AK


def test_round_trip_with_query_and_encoded_path() -> None:
    url = "http://ocr.example.com/v2/p%20q/ocr/general-text?b=2&a=x%2Fy&a=1&empty="
    signed = sign_request("POST", url, HEADERS, BODY, AK, SK, now=NOW)
    assert verify(url, signed) == AK
    with pytest.raises(SignatureError):
        verify(url.replace("b=2", "b=3"), signed)


def test_headers_are_case_insensitive_on_the_verifying_side() -> None:
    signed = sign_request("POST", URL, HEADERS, BODY, AK, SK, now=NOW)
    assert verify(URL, {name.upper(): value for name, value in signed.items()}) == AK


def test_signature_made_by_the_official_sdk_verifies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # the SDK writes ~/.huaweicloud on import
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkcore.sdk_request import SdkRequest
    from huaweicloudsdkcore.signer.signer import Signer

    request = SdkRequest(
        method="POST",
        schema="http",
        host="127.0.0.1:8080",
        resource_path="/v2/0a1b2c3d/ocr/general-text",
        query_params=[("limit", 10), ("marker", "a b/c")],
        header_params={**HEADERS, "X-Sdk-Date": NOW.strftime("%Y%m%dT%H%M%SZ")},
        body=BODY,
    )
    Signer(BasicCredentials(AK, SK, "0a1b2c3d")).sign(request)
    sent = dict(request.header_params)
    url = request.url  # the SDK puts the canonical query string into the URI it sends
    assert verify(url, sent) == AK

    ours = sign_request("POST", url, HEADERS, BODY, AK, SK, now=NOW)
    assert ours["Authorization"] == sent["Authorization"]


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda h, b: (h, b + b" "), id="body"),
        pytest.param(lambda h, b: ({**h, "X-Project-Id": "other"}, b), id="signed-header"),
        pytest.param(lambda h, b: ({**h, "Host": "127.0.0.1:9090"}, b), id="host"),
        pytest.param(
            lambda h, b: ({**h, "X-Sdk-Date": "20250314T092654Z"}, b), id="date-in-window"
        ),
        pytest.param(
            lambda h, b: ({**h, "Authorization": h["Authorization"][:-1] + "0"}, b),
            id="signature",
        ),
        pytest.param(
            lambda h, b: ({k: v for k, v in h.items() if k != "Enterprise-Project-Id"}, b),
            id="signed-header-removed",
        ),
    ],
)
def test_tampered_requests_fail(tamper) -> None:
    signed = sign_request("POST", URL, HEADERS, BODY, AK, SK, now=NOW)
    headers, body = tamper(signed, BODY)
    with pytest.raises(SignatureError):
        verify(URL, headers, body)


def test_unsigned_header_may_change() -> None:
    signed = sign_request("POST", URL, HEADERS, BODY, AK, SK, now=NOW)
    assert verify(URL, {**signed, "Accept": "*/*", "Content-Length": "48"}) == AK


def test_other_path_or_method_fails() -> None:
    signed = sign_request("POST", URL, HEADERS, BODY, AK, SK, now=NOW)
    with pytest.raises(SignatureError):
        verify(URL.replace("general-text", "web-image"), signed)
    with pytest.raises(SignatureError):
        verify(URL, signed, method="PUT")


@pytest.mark.parametrize("minutes", [-16, 16, 60 * 24])
def test_date_skew_beyond_15_minutes_fails(minutes: int) -> None:
    signed = sign_request("POST", URL, HEADERS, BODY, AK, SK, now=NOW)
    with pytest.raises(SignatureError, match="15 minutes"):
        verify(URL, signed, now=NOW + timedelta(minutes=minutes))


@pytest.mark.parametrize("minutes", [-14, 14])
def test_date_skew_within_15_minutes_passes(minutes: int) -> None:
    signed = sign_request("POST", URL, HEADERS, BODY, AK, SK, now=NOW)
    assert verify(URL, signed, now=NOW + timedelta(minutes=minutes)) == AK


def test_wrong_secret_and_unknown_key_fail_without_leaking() -> None:
    wrong = sign_request("POST", URL, HEADERS, BODY, AK, "not-the-secret", now=NOW)
    with pytest.raises(SignatureError) as caught:
        verify(URL, wrong)
    signature = wrong["Authorization"].rsplit("=", 1)[1]
    message = str(caught.value)
    assert SK not in message and "not-the-secret" not in message and signature not in message

    stranger = sign_request("POST", URL, HEADERS, BODY, "NOSUCHKEY", SK, now=NOW)
    with pytest.raises(SignatureError, match="unknown access key"):
        verify(URL, stranger)


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer abc",
        "SDK-HMAC-SHA256 Access=AK, Signature=00",
        "SDK-HMAC-SHA256 Access=AK, SignedHeaders=x-sdk-date, Signature=00",
        "SDK-HMAC-SHA256 Access=AK, SignedHeaders=x-sdk-date;host, Signature=00",
    ],
)
def test_malformed_authorization_fails(authorization: str | None) -> None:
    signed = sign_request("POST", URL, HEADERS, BODY, AK, SK, now=NOW)
    del signed["Authorization"]
    if authorization is not None:
        signed["Authorization"] = authorization
    with pytest.raises(SignatureError):
        verify(URL, signed)


def test_unsigned_payload_is_refused_unless_allowed() -> None:
    signed = sign_request(
        "POST", URL, {"Content-Type": "application/octet-stream"}, BODY, AK, SK, now=NOW
    )
    assert signed["X-Sdk-Content-Sha256"] == "UNSIGNED-PAYLOAD"
    with pytest.raises(SignatureError, match="unsigned"):
        verify(URL, signed)
    path = urlsplit(URL).path
    assert (
        verify_request(
            "POST", path, [], signed, b"anything", secrets, now=NOW, allow_unsigned_payload=True
        )
        == AK
    )


def test_given_sdk_date_is_kept_and_empty_body_signs() -> None:
    headers = {"X-Sdk-Date": "20250314T092653Z"}
    signed = sign_request("GET", "http://h/health", headers, b"", AK, SK)
    assert signed["X-Sdk-Date"] == "20250314T092653Z"
    assert verify("http://h/health", signed, body=b"", method="GET") == AK
