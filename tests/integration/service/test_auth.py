"""Token auth, AK lockout, temporary keys, rate limit, usage and `url` download, over real
HTTP against a service of this module's own (users, admin key, rate limit, private URLs
allowed), with the pipeline's own OCR client for the token flow end to end.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from pipeline.errors import OcrAuthError
from pipeline.models import OcrRequest
from pipeline.ocr.client import OcrClient
from pipeline.ocr.token import TokenProvider, load_iam_password
from pipeline.service.app import ServiceLimits
from pipeline.service.auth import load_auth
from pipeline.service.authfile import hash_password, project_id_for
from pipeline.service.server import ServiceConfig
from pipeline.testing import make_page
from tests.support.service import (
    ADMIN_KEY,
    PASSWORD,
    PROJECT,
    OcrService,
    ServiceThread,
    assert_error,
    b64,
    call,
    get_token,
    png,
    usage,
    words,
)

RATE_LIMIT = 8
TTL_S = 3.0
PROJECT_ID = project_id_for(PROJECT)
AKS = {"LOCKAK": "lock-secret", "RATEAK": "rate-secret", "USEAK": "use-secret"}
TEMP_AK, TEMP_SK, TEMP_TOKEN = "TEMPAK", "temp-secret", "security-token-123"


@pytest.fixture(scope="module")
def auth_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("auth") / "auth.toml"
    cheap = hash_password(PASSWORD, iterations=1000)
    credentials = "".join(f'[[credentials]]\nak = "{ak}"\nsk = "{sk}"\n' for ak, sk in AKS.items())
    path.write_text(
        credentials
        + f'[[credentials]]\nak = "{TEMP_AK}"\nsk = "{TEMP_SK}"\nsecurity_token = "{TEMP_TOKEN}"\n'
        + f'[[users]]\nname = "alice"\ndomain = "acme"\npassword_hash = "{cheap}"\n'
        + f'projects = ["{PROJECT}"]\n'
        + f'[admin]\nkey_hash = "{hash_password(ADMIN_KEY, iterations=1000)}"\n'
        + f"[tokens]\nttl_hours = {TTL_S / 3600}\n"
    )
    path.chmod(0o600)
    return path


@pytest.fixture(scope="module")
def service(auth_file: Path) -> Iterator[OcrService]:
    config = ServiceConfig(
        port=0,
        workers=1,
        engine="scripted",  # no models: each page is answered with its tag
        auth=load_auth(auth_file, {}),
        limits=ServiceLimits(rate_limit_per_minute=RATE_LIMIT, allow_private_urls=True),
    )
    thread = ServiceThread(config)
    url = thread.start()
    try:
        yield OcrService(url=url, ak="USEAK", sk=AKS["USEAK"], project_id=PROJECT_ID)
    finally:
        thread.stop()


def as_ak(service: OcrService, ak: str, sk: str) -> OcrService:
    return OcrService(url=service.url, ak=ak, sk=sk, project_id=service.project_id)


@pytest.mark.slow  # 2 s and more (measured)
async def test_token_is_issued_and_accepted_then_expires(
    service: OcrService,
) -> None:
    status, token, body = await get_token(service)
    assert status == 201 and token
    assert body["token"]["project"] == {"id": PROJECT_ID, "name": PROJECT,
                                        "domain": {"name": "acme"}}
    assert body["token"]["expires_at"].endswith("Z")
    image = {"image": b64(png(make_page("token-ok")))}
    answer = await call(service, image, sign=False, headers={"X-Auth-Token": token})
    assert answer.status == 200, answer.body
    assert words(answer) == ["page token-ok"]
    await asyncio.sleep(TTL_S)
    answer = await call(service, image, sign=False, headers={"X-Auth-Token": token})
    assert_error(answer, 401, "APIG.0307")


async def test_unscoped_token_and_bad_password(service: OcrService) -> None:
    status, token, _ = await get_token(service, scope=False)
    assert status == 201
    answer = await call(service, {"image": "aGVsbG8="}, sign=False,
                        headers={"X-Auth-Token": token})
    assert_error(answer, 401, "ModelArts.0212")
    status, token, body = await get_token(service, password="wrong")
    assert (status, token) == (401, None)
    assert body["error"]["code"] == 401


@pytest.mark.slow  # 2 s and more (measured)
async def test_pipeline_client_with_token_auth(
    service: OcrService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OCRPIPE_IAM_PASSWORD", PASSWORD)
    request = OcrRequest("doc", 0, b64(png(make_page("via-token"))), 640, 480)
    async with aiohttp.ClientSession() as session:
        provider = TokenProvider(session, iam_endpoint=service.url, user="alice",
                                 domain="acme", project=PROJECT, password=load_iam_password())
        client = OcrClient(session, endpoint=service.url, project_id=PROJECT_ID, token=provider)
        result = await client.recognize(request)
        assert [b.text for b in result.blocks] == ["page via-token"]
        await client.recognize(request)
        assert provider.fetches == 1  # cached
        await asyncio.sleep(TTL_S)  # expired: fetched again before sending
        await client.recognize(request)
        assert provider.fetches == 2

        wrong = TokenProvider(session, iam_endpoint=service.url, user="alice",
                              domain="acme", project=PROJECT, password="nope")
        bad = OcrClient(session, endpoint=service.url, project_id=PROJECT_ID, token=wrong)
        with pytest.raises(OcrAuthError, match="refused a token"):
            await bad.recognize(request)
        assert "nope" not in repr(wrong)


async def test_ak_is_locked_after_five_failed_signatures(service: OcrService) -> None:
    locked = as_ak(service, "LOCKAK", AKS["LOCKAK"])
    for _ in range(5):
        assert_error(await call(locked, {"image": "aGVsbG8="}, sk="wrong"), 401, "APIG.0301")
    answer = await call(locked, {"image": "aGVsbG8="})  # the right secret, too late
    assert_error(answer, 401, "APIG.0301")
    assert "reach the limit" in answer.body["error_msg"]


async def test_temporary_key_needs_its_security_token(service: OcrService) -> None:
    temp = as_ak(service, TEMP_AK, TEMP_SK)
    body = b'{"image": 1}'
    answer = await call(temp, body, headers={"X-Security-Token": TEMP_TOKEN})
    assert_error(answer, 400, "AIS.0101")  # authenticated, then the body is checked
    assert_error(await call(temp, body), 401, "APIG.0301")


async def test_rate_limit_per_user_and_api(service: OcrService) -> None:
    rated = as_ak(service, "RATEAK", AKS["RATEAK"])
    for _ in range(RATE_LIMIT):
        assert_error(await call(rated, b"not json"), 400, "ModelArts.4105")
    answer = await call(rated, b"not json")
    assert_error(answer, 429, "APIG.0308")
    assert answer.body["error_msg"].endswith(f"limit:{RATE_LIMIT},time:1 minute")
    other_api = await call(rated, b"not json", url=rated.api_url("web-image"))
    assert_error(other_api, 400, "ModelArts.4105")


async def test_usage_counts_2xx_calls_per_enterprise_project_and_api(
    service: OcrService,
) -> None:
    image = {"image": b64(png(make_page("bill-me")))}
    for project in ("finance", "finance", "bad id!"):
        headers = {"Enterprise-Project-Id": project}
        assert (await call(service, image, headers=headers)).status == 200
    web_image = await call(service, image, url=service.api_url("web-image"),
                           headers={"Enterprise-Project-Id": "finance"})
    assert web_image.status == 200
    assert (await call(service, {"image": "!!"}, headers={"Enterprise-Project-Id": "finance"})
            ).status == 400  # not billed

    status, body = await usage(service)
    assert status == 200
    counts = {(r["enterprise_project_id"], r["api"]): r["calls"] for r in body["usage"]}
    assert counts[("finance", "general-text")] == 2
    assert counts[("finance", "web-image")] == 1
    assert counts[("default", "general-text")] >= 1
    assert all(len(r["date"]) == 10 for r in body["usage"])
    assert (await usage(service, key=None))[0] == 401
    assert (await usage(service, key="wrong"))[0] == 401


@pytest.fixture
async def image_server() -> AsyncIterator[str]:
    async def page(request: web.Request) -> web.Response:
        return web.Response(body=png(make_page("hello-2024")), content_type="image/png")

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPFound("/page.png")

    app = web.Application()
    app.router.add_get("/page.png", page)
    app.router.add_get("/moved", moved)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


async def test_url_input_is_downloaded_when_private_urls_are_allowed(
    service: OcrService, image_server: str
) -> None:
    for path in ("/page.png", "/moved"):
        answer = await call(service, {"url": image_server + path})
        assert answer.status == 200, answer.body
        assert words(answer) == ["page hello-2024"]
    assert_error(await call(service, {"url": image_server + "/absent"}), 400, "ModelArts.4603")


def test_auth_file_errors_name_the_problem(tmp_path: Path) -> None:
    from pipeline.service.apierror import SetupError

    path = tmp_path / "auth.toml"
    path.write_text('[[users]]\nname = "bob"\ndomain = "d"\npassword_hash = "plain"\n')
    with pytest.raises(SetupError, match="never the password itself"):
        load_auth(path, {})
    path.write_text("[tokens]\nttl_hours = -1\n")
    with pytest.raises(SetupError, match="ttl_hours"):
        load_auth(path, {})


def test_password_hash_round_trip() -> None:
    from pipeline.service.authfile import verify_password

    stored = hash_password("s3cret", iterations=1000)
    assert stored.startswith("pbkdf2_sha256$1000$") and "s3cret" not in stored
    assert verify_password("s3cret", stored)
    assert not verify_password("other", stored)
    assert not verify_password("s3cret", "garbage")
