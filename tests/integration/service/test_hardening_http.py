"""`ocrpipe serve` under hostile clients (issue 11), over real sockets on loopback: what is
refused from the headers before the body, duplicate headers, slow and cut-off clients,
connection caps, the pre-authentication buffer, lockout per address, Host checks.

Two client addresses are two loopback addresses (127.0.0.1, 127.0.0.2: Linux routes all
of 127/8 to lo). The engine is `EchoEngine` (tests/support/hardening.py): these tests are about
the HTTP layer.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re

import pytest

from pipeline.service.app import ServiceLimits
from tests.support.hardening import (
    PATH,
    connect,
    echo_text,
    head,
    raw_request,
    read_answer,
    serve,
    signed,
    until,
)

BODY = json.dumps({"image": "aGVsbG8="}).encode()
OTHER = "127.0.0.2"


def error_code(answer: object) -> str:
    assert isinstance(answer, dict), answer
    return str(answer["error_code"])


async def test_a_signed_request_passes_the_guard() -> None:
    async with serve() as service:
        answer = await raw_request(service, signed(service, BODY), BODY)
        assert answer.status == 200, answer.body
        words = answer.body["result"]["words_block_list"][0]["words"]
        assert words == echo_text("aGVsbG8=")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("Authorization", "SDK-HMAC-SHA256 Access=HARDENAK, SignedHeaders=host, Signature=00"),
        ("X-Sdk-Date", "20200101T000000Z"),
        ("X-Auth-Token", "MIIdecoy"),
        ("Enterprise-Project-Id", "someone-else"),
        ("X-Project-Id", "other-project"),
        ("Content-Type", "text/plain"),
        ("Host", "decoy.example:1"),
        ("X-Custom-Signed", "second"),
    ],
)
async def test_a_duplicated_header_is_refused_naming_it(
    name: str, value: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Refused with 400 APIG.0201 naming the header, also for the headers aiohttp's parser
    refuses itself (Content-Type, Host): then logged as one INFO line, not an ERROR."""
    async with serve() as service:
        extra = {"X-Custom-Signed": "first", "Enterprise-Project-Id": "finance"}
        if name == "X-Auth-Token":
            extra[name] = "MIIfirst"
        headers = signed(service, BODY, extra=extra)
        for order in ("after", "before"):  # whichever copy a reader takes, it is refused
            sent = [*headers, (name, value)] if order == "after" else [(name, value), *headers]
            answer = await raw_request(service, sent, BODY)
            assert answer.status == 400, (order, answer.body)
            assert error_code(answer.body) == "APIG.0201"
            assert name.lower() in answer.body["error_msg"].lower()
            assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["x-request-id"])
        assert service.state.usage.as_json()["total_calls"] == 0
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.slow  # 2 s and more (measured)
async def test_the_headers_are_judged_before_the_body_is_read() -> None:
    """A 12 MB Content-Length whose body never comes: refused at once from the headers."""
    async with serve() as service:
        valid = dict(signed(service, BODY))
        big = [(k, v) for k, v in valid.items() if k != "Content-Length"]
        big.append(("Content-Length", str(12 * 1024 * 1024)))
        cases = {
            "unknown AK": [(k, v.replace("HARDENAK", "NOSUCHAK")) for k, v in big],
            "stale date": [(k, "20200101T000000Z" if k == "X-Sdk-Date" else v) for k, v in big],
            "no signature": [(k, v) for k, v in big if k != "Authorization"],
        }
        for what, headers in cases.items():
            answer = await raw_request(service, headers, b"", seconds=10)  # no body sent
            assert answer.status == 401, (what, answer.body)
            assert answer.headers.get("connection", "").lower() == "close", what
        too_big = [*big[:-1], ("Content-Length", str(12 * 1024 * 1024 + 1))]
        answer = await raw_request(service, too_big, b"", seconds=10)
        assert answer.status == 413 and error_code(answer.body) == "APIG.0201"
        assert service.state.bodies.held == 0


async def test_slow_or_silent_headers_are_cut_off() -> None:
    async with serve(ServiceLimits(header_timeout=0.5)) as service:
        silent_reader, silent = await connect(service)
        slow_reader, slow = await connect(service)
        slow.write(b"POST " + PATH.encode() + b" HTTP/1.1\r\nHost: x\r\n")  # never finished
        for reader in (silent_reader, slow_reader):
            assert await asyncio.wait_for(reader.read(), 10) == b""  # closed by the server
        assert service.guard.timed_out == 2
        await until(lambda: service.guard.open == 0)
        for writer in (silent, slow):
            writer.close()


@pytest.mark.slow  # 2 s and more (measured)
async def test_a_slow_body_gets_408_and_frees_its_buffer() -> None:
    async with serve(ServiceLimits(body_timeout=0.5)) as service:
        reader, writer = await connect(service)
        writer.write(head("POST", PATH, signed(service, BODY)) + BODY[:5])
        answer = await asyncio.wait_for(read_answer(reader), 10)
        writer.close()
        assert answer.status == 408 and error_code(answer.body) == "APIG.0201"
        assert service.state.bodies.held == 0


async def test_connections_are_capped_per_address_and_in_all() -> None:
    limits = ServiceLimits(max_connections=3, max_connections_per_address=2, header_timeout=30)
    async with serve(limits) as service:
        held = [await connect(service) for _ in range(2)]
        await until(lambda: service.guard.open == 2)
        reader, writer = await connect(service)  # a third from 127.0.0.1
        refused = await asyncio.wait_for(read_answer(reader), 10)
        writer.close()
        assert refused.status == 429 and error_code(refused.body) == "APIG.0308"
        assert refused.headers["retry-after"] == "1"

        health = [("Host", "x")]
        answer = await raw_request(service, health, method="GET", path="/health", source=OTHER)
        assert answer.status == 200  # another address still gets in
        await until(lambda: service.guard.open == 2)
        other = await connect(service, OTHER)
        await until(lambda: service.guard.open == 3)
        reader, writer = await connect(service, "127.0.0.3")  # the total is reached
        assert (await asyncio.wait_for(read_answer(reader), 10)).status == 429
        writer.close()
        for _, held_writer in (*held, other):
            held_writer.close()
        await until(lambda: service.guard.open == 0)
        answer = await raw_request(service, health, method="GET", path="/health")
        assert answer.status == 200


async def test_bodies_not_yet_authenticated_share_a_bounded_buffer() -> None:
    async with serve(ServiceLimits(preauth_buffer_bytes=100_000)) as service:
        body = json.dumps({"image": "A" * 79_980}).encode()
        _, holder = await connect(service)
        holder.write(head("POST", PATH, signed(service, body)) + body[:70_000])
        await until(lambda: service.state.bodies.held >= 70_000)

        second = json.dumps({"image": "B" * 49_980}).encode()
        answer = await raw_request(service, signed(service, second), second)
        assert answer.status == 429 and error_code(answer.body) == "APIG.0308"
        assert int(answer.headers["retry-after"]) >= 1

        holder.close()  # the first client gives up: its bytes are released
        await until(lambda: service.state.bodies.held == 0)
        answer = await raw_request(service, signed(service, second), second)
        assert answer.status == 200, answer.body


async def test_bad_signatures_back_off_their_address_not_the_owner() -> None:
    async with serve() as service:
        for _ in range(5):
            answer = await raw_request(service, signed(service, BODY, sk="guess"), BODY,
                                       source=OTHER)
            assert answer.status == 401
        answer = await raw_request(service, signed(service, BODY), BODY, source=OTHER)
        assert answer.status == 401 and "reach the limit" in answer.body["error_msg"]
        assert int(answer.headers["retry-after"]) > 0
        owner = await raw_request(service, signed(service, BODY), BODY)  # from 127.0.0.1
        assert owner.status == 200, owner.body


async def test_the_host_must_be_the_public_host_when_set() -> None:
    async with serve(ServiceLimits(public_host="ocr.example.com")) as service:
        answer = await raw_request(service, signed(service, BODY), BODY)
        assert answer.status == 404 and error_code(answer.body) == "APIG.0101"
        assert "ocr.example.com" in answer.body["error_msg"]
        good = signed(service, BODY, host="ocr.example.com")
        assert (await raw_request(service, good, BODY)).status == 200
        health = await raw_request(service, [("Host", "10.1.2.3")], method="GET",
                                   path="/health")
        assert health.status == 200  # health checks come by any name


async def test_one_address_gets_only_its_share_of_the_buffer() -> None:
    async with serve(ServiceLimits(preauth_buffer_bytes=200_000)) as service:
        service.state.bodies.per_owner = 60_000  # the default is a quarter, at least 12 MB
        body = json.dumps({"image": "A" * 54_980}).encode()
        _, holder = await connect(service, OTHER)
        holder.write(head("POST", PATH, signed(service, body)) + body[:50_000])
        await until(lambda: service.state.bodies.held >= 50_000)

        second = json.dumps({"image": "B" * 29_980}).encode()
        answer = await raw_request(service, signed(service, second), second, source=OTHER)
        assert answer.status == 429 and error_code(answer.body) == "APIG.0308"
        answer = await raw_request(service, signed(service, second), second)  # 127.0.0.1
        assert answer.status == 200, answer.body
        holder.close()
        await until(lambda: service.state.bodies.held == 0)


async def test_bodies_that_never_finish_back_their_address_off() -> None:
    async with serve(ServiceLimits(body_timeout=0.3)) as service:
        for _ in range(5):  # headers that pass every check, then a body that stalls
            reader, writer = await connect(service, OTHER)
            writer.write(head("POST", PATH, signed(service, BODY)) + BODY[:3])
            answer = await asyncio.wait_for(read_answer(reader), 10)
            writer.close()
            assert answer.status == 408
        answer = await raw_request(service, signed(service, BODY), BODY, source=OTHER)
        assert answer.status == 401 and "reach the limit" in answer.body["error_msg"]
        assert (await raw_request(service, signed(service, BODY), BODY)).status == 200
