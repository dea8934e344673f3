"""Webhooks: a job's end POSTed to a real receiver on loopback, signed, retried with
backoff, every attempt in the job's JSON; private addresses refused unless allowed; no
secret, no webhooks."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from pipeline.api import create_app
from pipeline.api.submit import WebhookRules
from pipeline.store import JobQueue, Store, TokenStore, open_store
from pipeline.store.webhooks import WebhookStore
from pipeline.webhook_signature import SIGNATURE_HEADER
from pipeline.webhooks import WebhookPolicy, WebhookSender

SECRET = "webhook-secret-for-tests"
FAST = WebhookPolicy(first_delay=0.05, max_delay=0.1, poll=0.05, timeout=5)


class Receiver:
    """Answers each POST with the next status of `statuses` (then 200), keeps the requests."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.received: list[tuple[bytes, dict[str, str]]] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append((await request.read(), dict(request.headers)))
        return web.Response(status=self.statuses.pop(0) if self.statuses else 200)


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    store = await open_store(store_url)  # SQLite and PostgreSQL
    yield store
    await store.close()


async def receiver_running(receiver: Receiver) -> web.AppRunner:
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    receiver.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    return runner


async def ended_job(store: Store, webhook: str, status: str = "done") -> str:
    queue = JobQueue(store)
    job, _ = await queue.submit(name="hooked", enterprise_project="finance",
                                spec={"name": "hooked", "output": {"url": "/out"}},
                                webhook=webhook)
    assert await queue.claim("w", lease=30) is not None
    assert await queue.finish(job.id, "w", status=status, exit_code=0)  # type: ignore[arg-type]
    return job.id


async def deliver_until(sender: WebhookSender, store: Store, job_id: str,
                        state: str) -> list[dict[str, Any]]:
    stopping = asyncio.Event()
    task = asyncio.create_task(sender.run(stopping))
    try:
        async with asyncio.timeout(60):
            while True:
                deliveries = await WebhookStore(store).for_job(job_id)
                if deliveries and deliveries[0]["state"] == state:
                    return deliveries
                await asyncio.sleep(0.05)
    finally:
        stopping.set()
        await task


async def test_a_job_end_is_posted_signed_and_retried(store: Store) -> None:
    receiver = Receiver(500, 503)
    runner = await receiver_running(receiver)
    try:
        job_id = await ended_job(store, receiver.url)
        sender = WebhookSender(store, SECRET, allow_private=True, policy=FAST)
        deliveries = await deliver_until(sender, store, job_id, "delivered")
    finally:
        await runner.cleanup()
    assert len(deliveries) == 1
    assert [a["http_status"] for a in deliveries[0]["attempts"]] == [500, 503, 200]
    assert [a["error"] for a in deliveries[0]["attempts"]] == ["HTTP 500", "HTTP 503", None]
    assert len(receiver.received) == 3
    body, headers = receiver.received[-1]
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers[SIGNATURE_HEADER], expected)
    payload = json.loads(body)
    assert payload["id"] == job_id and payload["status"] == "done"
    assert SECRET.encode() not in body
    # the same ending is announced once, however often the sender looks
    sender = WebhookSender(store, SECRET, allow_private=True, policy=FAST)
    await sender.announce()
    assert len(await WebhookStore(store).for_job(job_id)) == 1


async def test_a_delivery_that_keeps_failing_is_given_up(store: Store) -> None:
    receiver = Receiver(*([500] * 100))
    runner = await receiver_running(receiver)
    try:
        job_id = await ended_job(store, receiver.url, status="failed")
        policy = WebhookPolicy(first_delay=0.05, max_delay=0.05, give_up_after=0.3, poll=0.05)
        sender = WebhookSender(store, SECRET, allow_private=True, policy=policy)
        deliveries = await deliver_until(sender, store, job_id, "gave_up")
    finally:
        await runner.cleanup()
    attempts = deliveries[0]["attempts"]
    assert 2 <= len(attempts) == len(receiver.received)
    assert deliveries[0]["next_attempt_at"] is None


async def test_a_private_address_is_refused_without_the_flag(store: Store) -> None:
    receiver = Receiver()
    runner = await receiver_running(receiver)
    try:
        job_id = await ended_job(store, receiver.url)
        sender = WebhookSender(store, SECRET, allow_private=False, policy=FAST)
        deliveries = await deliver_until(sender, store, job_id, "gave_up")
    finally:
        await runner.cleanup()
    assert receiver.received == []
    assert "--allow-private-webhooks" in deliveries[0]["attempts"][0]["error"]


@pytest.mark.parametrize(("rules", "url", "status", "says"), [
    (WebhookRules(), "https://hooks.example.com/x", 400, "OCRPIPE_WEBHOOK_SECRET"),
    (WebhookRules(can_sign=True), "http://127.0.0.1:9/x", 400, "--allow-private-webhooks"),
    (WebhookRules(can_sign=True), "http://169.254.169.254/x", 400, "link-local"),
    (WebhookRules(can_sign=True), "http://localhost/x", 400, "localhost"),
    (WebhookRules(can_sign=True), "ftp://example.com/x", 400, "notify.webhook"),
    (WebhookRules(can_sign=True), "https://hooks.example.com/x", 201, None),
    (WebhookRules(can_sign=True, allow_private=True), "http://127.0.0.1:9/x", 201, None),
])
async def test_submitting_a_webhook(store: Store, tmp_path: Path, rules: WebhookRules,
                                    url: str, status: int, says: str | None) -> None:
    token, _ = await TokenStore(store).create(name="t", enterprise_project="finance")
    client = TestClient(TestServer(create_app(store, base_dir=tmp_path, webhooks=rules),
                                   host="127.0.0.1"))
    await client.start_server()
    try:
        body = {"name": "n", "source": {"url": "."}, "output": {"url": "o"},
                "notify": {"webhook": url}}
        async with client.post("/v1/jobs", json=body,
                               headers={"Authorization": f"Bearer {token}"}) as resp:
            answer = await resp.json()
            assert resp.status == status, answer
        if says is not None:
            assert says in answer["message"] and "notify.webhook" in answer["message"]
        else:
            assert answer["notify"] == {"webhook": url, "deliveries": []}
    finally:
        await client.close()
