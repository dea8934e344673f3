"""`ocrpipe serve` under hostile clients (issue 11), the API side: password checks, metric
labels, nested JSON, clients that disconnect, control characters in paths, Retry-After on
a full queue, and no `url` download for a page the queue refuses.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from pipeline.service import passwords as passwords_module
from pipeline.service.apierror import ApiError
from pipeline.service.app import ServiceLimits
from pipeline.service.authfile import AuthConfig, User, hash_password
from pipeline.service.authfile import verify_password as authfile_verify_password
from pipeline.service.passwords import PasswordChecker
from tests.support.hardening import (
    AK,
    PATH,
    SK,
    EchoEngine,
    Service,
    connect,
    head,
    raw_request,
    serve,
    signed,
    until,
)

BODY = json.dumps({"image": "aGVsbG8="}).encode()
PASSWORD = "correct horse"


def users_auth(rounds: int = 1000) -> AuthConfig:
    user = User("alice", "acme", hash_password(PASSWORD, iterations=rounds), ("cn-north-4",))
    return AuthConfig(
        credentials={AK: SK},
        users={("acme", "alice"): user},
        admin_key_hash=hash_password("admin-key", iterations=rounds),
    )


def login(name: str = "alice", password: str = PASSWORD) -> dict[str, Any]:
    user = {"name": name, "password": password, "domain": {"name": "acme"}}
    return {"auth": {"identity": {"methods": ["password"], "password": {"user": user}},
                     "scope": {"project": {"name": "cn-north-4"}}}}


async def post_token(service: Service, body: bytes | dict[str, Any]) -> tuple[int, Any, str]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{service.url}/v3/auth/tokens", data=data) as response,
    ):
        return response.status, await response.json(), response.headers.get("Retry-After", "")


async def test_password_guesses_are_limited_per_address() -> None:
    async with serve(auth=users_auth()) as service:
        async with aiohttp.ClientSession() as session:
            for _ in range(12):  # right keys cost no budget (a dashboard may poll)
                async with session.get(f"{service.url}/v1/usage",
                                       headers={"X-Admin-Key": "admin-key"}) as response:
                    assert response.status == 200
        for _ in range(10):
            status, _, _ = await post_token(service, login(password="guess"))
            assert status == 401
        status, body, retry_after = await post_token(service, login())  # even the right one
        assert status == 429 and body["error_code"] == "APIG.0308"
        assert int(retry_after) >= 1
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{service.url}/v1/usage", headers={"X-Admin-Key": "x"}) as response,
        ):
            assert response.status == 429  # the admin key shares the budget


async def test_an_unknown_user_costs_a_check_as_long_as_a_known_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checked: list[int] = []
    real = authfile_verify_password

    def spy(password: str, stored: str) -> bool:
        checked.append(int(stored.split("$")[1]))  # the rounds the check runs
        return real(password, stored)

    monkeypatch.setattr(passwords_module, "verify_password", spy)
    async with serve(auth=users_auth(rounds=2345)) as service:
        assert (await post_token(service, login(password="guess")))[0] == 401
        assert (await post_token(service, login(name="mallory")))[0] == 401
        assert (await post_token(service, login()))[0] == 201
    assert checked == [2345, 2345, 2345]


@pytest.mark.slow  # 2 s and more (measured)
async def test_password_checks_run_off_the_event_loop() -> None:
    """A slow check (3 million rounds) is in flight while the service answers others."""
    async with serve(auth=users_auth(rounds=3_000_000)) as service:
        login_task = asyncio.create_task(post_token(service, login()))
        await until(lambda: service.state.passwords.in_flight == 1, seconds=30)
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{service.url}/health") as response,
        ):
            assert response.status == 200
        assert service.state.passwords.in_flight == 1  # answered while the check runs
        assert not login_task.done()
        assert (await login_task)[0] == 201


async def test_checks_beyond_the_waiting_room_answer_429() -> None:
    checker = PasswordChecker([hash_password("x", iterations=1000)], max_waiting=0)
    checker.in_flight = 1  # the one thread is busy
    with pytest.raises(ApiError, match="at once") as caught:
        await checker.verify("x", None, "10.0.0.9", "password")
    assert caught.value.kind.code == "APIG.0308" and caught.value.retry_after == 1.0
    checker.close()


async def test_made_up_api_names_do_not_create_metric_series() -> None:
    async with serve() as service, aiohttp.ClientSession() as session:
        for number in range(30):
            url = f"{service.url}/v1/x/ocr/made-up-{number}"
            async with session.post(url, data=b"{}") as response:
                assert response.status == 404
        async with session.post(f"{service.url}/v2/p/ocr/id-card", data=b"{}") as response:
            assert response.status == 401  # a Huawei API name: known, labelled as itself
        async with session.get(f"{service.url}/metrics") as response:
            text = await response.text()
    assert "made-up" not in text
    assert re.search(r'ocrpipe_requests_total\{api="other",code="APIG.0101"\} 30', text), text
    assert 'api="id-card"' in text


async def test_deeply_nested_json_is_400_not_500(caplog: pytest.LogCaptureFixture) -> None:
    nested = b"[" * 100_000 + b"]" * 100_000
    async with serve(auth=users_auth()) as service:
        answer = await raw_request(service, signed(service, nested), nested)
        assert answer.status == 400 and answer.body["error_code"] == "ModelArts.4105"
        wrapped = b'{"a":' * 8_000 + b"1" + b"}" * 8_000  # 48 KB, 8000 deep
        assert (await post_token(service, wrapped))[0] == 400
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_client_gone_mid_body_is_neither_an_error_nor_a_500(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    async with serve() as service:
        body = json.dumps({"image": "Q" * 5000}).encode()
        _, writer = await connect(service)
        writer.write(head("POST", PATH, signed(service, body)) + body[:1000])
        await writer.drain()
        await until(lambda: service.state.bodies.held >= 1000)
        writer.close()
        await until(lambda: service.state.bodies.held == 0)
        await until(lambda: service.state.metrics is not None
                    and ("general-text", "499") in service.state.metrics.requests)
        assert service.state.metrics is not None
        codes = {code for (_, code) in service.state.metrics.requests}
        assert codes == {"499"}
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("error_code=499" in r.getMessage() for r in caplog.records)


async def test_control_characters_in_a_path_cannot_forge_log_lines(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="pipeline.service")
    async with serve() as service:
        path = "/v2/p/ocr/x%0a2026-01-01%20INFO%20forged%0d%1b[2J"
        answer = await raw_request(service, [("Host", "x")], method="GET", path=path)
        assert answer.status == 404
    lines = [r.getMessage() for r in caplog.records if r.name == "pipeline.service"]
    logged = [line for line in lines if "forged" in line]
    assert len(logged) == 1, lines
    assert not re.search(r"[\x00-\x1f\x7f]", logged[0])
    assert "\\x0a2026-01-01 INFO forged\\x0d\\x1b[2J" in logged[0]


@pytest.mark.slow  # 2 s and more (measured)
async def test_a_full_queue_answers_4401_with_retry_after_and_downloads_nothing() -> None:
    fetched: list[str] = []

    async def image(request: web.Request) -> web.Response:
        fetched.append(request.path)
        return web.Response(body=b"\x89PNG not really")

    source = web.Application()
    source.router.add_get("/page.png", image)
    runner = web.AppRunner(source)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    engine = EchoEngine(delay=1.0, queue_size=0)
    try:
        async with serve(ServiceLimits(allow_private_urls=True), engine=engine) as service:
            first = asyncio.create_task(raw_request(service, signed(service, BODY), BODY))
            await until(lambda: engine.depth == 1)
            by_url = json.dumps({"url": f"http://127.0.0.1:{site.port}/page.png"}).encode()
            answer = await raw_request(service, signed(service, by_url), by_url)
            assert answer.status == 429 and answer.body["error_code"] == "ModelArts.4401"
            assert int(answer.headers["retry-after"]) >= 1
            assert fetched == []  # refused before its download
            assert (await first).status == 200
            answer = await raw_request(service, signed(service, by_url), by_url)
            assert answer.status == 200 and fetched == ["/page.png"]
    finally:
        await runner.cleanup()
