"""The OCR client's token auth (pipeline/ocr/token.py) against a fake IAM + OCR server:
fetch, cache, refresh before expiry, refresh once on APIG.0307, errors, the password's
sources. (The real service's token flow: tests/integration/service/test_auth.py.)"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from pipeline.config import OcrSpec
from pipeline.errors import ConfigError, OcrAuthError
from pipeline.models import OcrRequest
from pipeline.ocr.client import OcrClient
from pipeline.ocr.errors_map import TokenExpired
from pipeline.ocr.token import TokenProvider, load_iam_password, token_provider_for

RESULT = {"result": {"direction": -1, "words_block_count": 1, "words_block_list": [
    {"words": "ok", "location": [[0, 0], [1, 0], [1, 1], [0, 1]], "confidence": 0.9}]}}


class FakeCloud:
    """IAM issuing tok-1, tok-2, ... valid `lifetime` s; OCR answering 0307 to `expired`."""

    def __init__(self) -> None:
        self.issued = 0
        self.lifetime = 3600
        self.expired: set[str] = set()
        self.seen: list[str] = []
        self.bodies: list[Any] = []

    async def tokens(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.bodies.append(body)
        if body["auth"]["identity"]["password"]["user"]["password"] != "pw":
            return web.json_response({"error": {"code": 401}}, status=401)
        self.issued += 1
        token = {"issued_at": "2026-01-01T00:00:00.000000Z",
                 "expires_at": f"2026-01-01T{self.lifetime // 3600:02d}:00:00.000000Z"}
        return web.json_response({"token": token}, status=201,
                                 headers={"X-Subject-Token": f"tok-{self.issued}"})

    async def ocr(self, request: web.Request) -> web.Response:
        token = request.headers.get("X-Auth-Token", "")
        self.seen.append(token)
        assert "Authorization" not in request.headers
        if token in self.expired:
            return web.json_response({"error_code": "APIG.0307", "error_msg": "expired",
                                      "request_id": "r"}, status=401)
        return web.json_response(RESULT)


@pytest.fixture
async def cloud() -> AsyncIterator[tuple[FakeCloud, str]]:
    fake = FakeCloud()
    app = web.Application()
    app.router.add_post("/v3/auth/tokens", fake.tokens)
    app.router.add_post("/v2/{project}/ocr/{api}", fake.ocr)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield fake, f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def provider(session: aiohttp.ClientSession, url: str, clock: Clock | None = None,
             password: str = "pw") -> TokenProvider:
    return TokenProvider(session, iam_endpoint=url, user="alice", domain="acme",
                         project="cn-north-4", password=password, clock=clock or Clock())


REQUEST = OcrRequest("doc", 0, "aGVsbG8=", 1, 1)


async def test_token_is_cached_and_refreshed_before_expiry(
    cloud: tuple[FakeCloud, str], session: aiohttp.ClientSession
) -> None:
    fake, url = cloud
    clock = Clock()
    tokens = provider(session, url, clock)
    assert await tokens.token() == "tok-1"
    body = fake.bodies[0]["auth"]
    assert body["scope"] == {"project": {"name": "cn-north-4"}}
    assert body["identity"]["methods"] == ["password"]
    clock.now = 3600 - 361  # 6 min before expiry: still good (margin 5 min)
    assert await tokens.token() == "tok-1"
    clock.now = 3600 - 299  # within the margin: refreshed
    assert await tokens.token() == "tok-2"
    assert fake.issued == 2


async def test_client_refreshes_once_on_apig_0307(
    cloud: tuple[FakeCloud, str], session: aiohttp.ClientSession
) -> None:
    fake, url = cloud
    fake.expired = {"tok-1"}
    client = OcrClient(session, endpoint=url, project_id="p", token=provider(session, url))
    result = await client.recognize(REQUEST)
    assert [b.text for b in result.blocks] == ["ok"]
    assert fake.seen == ["tok-1", "tok-2"]

    fake.expired = {"tok-2", "tok-3"}  # still expired after the refresh: give up
    with pytest.raises(TokenExpired):
        await client.recognize(REQUEST)
    assert fake.seen[2:] == ["tok-2", "tok-3"]


async def test_wrong_password_is_an_auth_error_without_the_password(
    cloud: tuple[FakeCloud, str], session: aiohttp.ClientSession
) -> None:
    _, url = cloud
    tokens = provider(session, url, password="hunter2")
    with pytest.raises(OcrAuthError) as caught:
        await tokens.token()
    assert "hunter2" not in str(caught.value) and "hunter2" not in repr(tokens)


def test_client_needs_exactly_one_auth(session: aiohttp.ClientSession) -> None:
    with pytest.raises(ConfigError, match="either"):
        OcrClient(session, endpoint="http://x", project_id="p")


def test_password_from_environment_or_credentials_file(tmp_path: Path) -> None:
    file = tmp_path / "credentials.toml"
    assert load_iam_password({"OCRPIPE_IAM_PASSWORD": "env-pw"}, file) == "env-pw"
    file.write_text('iam_password = "file-pw"\n')
    file.chmod(0o600)  # a file holding a password must be private (test_service_hardening_misc)
    assert load_iam_password({}, file) == "file-pw"
    file.write_text('ak = "x"\n')
    with pytest.raises(ConfigError, match="OCRPIPE_IAM_PASSWORD"):
        load_iam_password({}, file)


async def test_job_file_keys_select_token_auth(
    session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OCRPIPE_IAM_PASSWORD", "iam-password-7f3a")
    spec = OcrSpec.model_validate({
        "endpoint": "https://ocr.example", "auth": "token",
        "iam_endpoint": "https://iam.example", "iam_user": "alice", "iam_domain": "acme",
        "iam_project": "cn-north-4"})
    tokens = token_provider_for(session, spec)
    assert tokens is not None and tokens.url == "https://iam.example/v3/auth/tokens"
    assert token_provider_for(session, OcrSpec.model_validate({})) is None
    with pytest.raises(ValueError, match="iam_user"):
        OcrSpec.model_validate({"endpoint": "https://ocr.example", "auth": "token",
                                "iam_endpoint": "https://iam.example"})
    # the password is read from the environment when a token is fetched, never kept in the spec
    assert "iam-password-7f3a" not in json.dumps(spec.model_dump()) + repr(spec)
