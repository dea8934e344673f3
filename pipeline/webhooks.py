"""Webhooks of `ocrpipe up`: when a job with `[notify] webhook` ends, POST its final JSON
there, signed, retried with backoff for up to a day, every attempt recorded.

Each body is signed (`webhook_signature.py`). A URL whose host is (or resolves to) a
loopback, private or link-local address is refused unless `up --allow-private-webhooks`
(the SSRF guard of the service's `url` input, `pipeline.protocol.addresses`). Deliveries
live in the state store (an outbox, `pipeline.store.webhooks`), so a restart loses none.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from yarl import URL

from pipeline import __version__
from pipeline.api.views import job_view
from pipeline.protocol.addresses import PublicOnlyResolver, RefusedAddress, refused_host
from pipeline.store import JobQueue, Store
from pipeline.store.webhooks import Delivery, WebhookStore
from pipeline.webhook_signature import SIGNATURE_HEADER, sign

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class WebhookPolicy:
    first_delay: float = 10.0
    max_delay: float = 3600.0
    give_up_after: float = 86_400.0
    """Seconds after the job ended when a delivery that never succeeded is given up."""
    timeout: float = 10.0
    poll: float = 1.0

    def delay(self, attempts: int) -> float:
        """Seconds before the next try after `attempts` failed ones: doubling, jittered."""
        base: float = min(self.first_delay * 2.0 ** (attempts - 1), self.max_delay)
        return base * random.uniform(0.8, 1.2)


class WebhookSender:
    def __init__(self, store: Store, secret: str, *, allow_private: bool = False,
                 policy: WebhookPolicy | None = None) -> None:
        self.queue, self.outbox = JobQueue(store), WebhookStore(store)
        self._secret = secret
        self.allow_private = allow_private
        self.policy = policy or WebhookPolicy()

    async def run(self, stopping: asyncio.Event) -> None:
        connector: Any = (aiohttp.TCPConnector() if self.allow_private
                          else aiohttp.TCPConnector(resolver=PublicOnlyResolver()))
        timeout = aiohttp.ClientTimeout(total=self.policy.timeout)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            while not stopping.is_set():
                try:
                    await self.announce()
                    due = await self.outbox.due(datetime.now(UTC))
                    await asyncio.gather(*(self.send(session, d) for d in due))
                except Exception:  # the state database: said, then tried again
                    log.exception("webhooks: the outbox failed; trying again")
                try:
                    await asyncio.wait_for(stopping.wait(), self.policy.poll)
                except TimeoutError:
                    pass

    async def announce(self) -> None:
        """A delivery for every job ending that has none yet."""
        for job in await self.outbox.endings_to_announce():
            assert job.webhook is not None
            view = job_view(job, await self.queue.progress(job.run_key, job.run_started_at))
            await self.outbox.enqueue(job, job.webhook, json.dumps(view))

    async def send(self, session: aiohttp.ClientSession, delivery: Delivery) -> None:
        body = delivery.payload.encode()
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, self._secret),
                   "X-Ocrpipe-Delivery": str(delivery.id), "User-Agent": f"ocrpipe/{__version__}"}
        status: int | None = None
        error: str | None = None
        permanent = False
        if not self.allow_private and refused_host(URL(delivery.url).host or ""):
            await self._record(delivery, None, _REFUSED, permanent=True)
            return
        try:
            async with session.post(delivery.url, data=body, headers=headers,
                                    allow_redirects=False) as response:
                status = response.status
                if not 200 <= status < 300:
                    error = f"HTTP {status}"
        except RefusedAddress:
            error, permanent = _REFUSED, True
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, RefusedAddress):
                error, permanent = _REFUSED, True
            else:
                error = f"cannot connect: {exc.os_error}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = f"{exc.__class__.__name__}: {exc}" if str(exc) else exc.__class__.__name__
        await self._record(delivery, status, error, permanent)

    async def _record(self, delivery: Delivery, status: int | None, error: str | None,
                      permanent: bool) -> None:
        now = datetime.now(UTC)
        if error is None:
            state, next_at = "delivered", None
        else:
            next_at = now + timedelta(seconds=self.policy.delay(delivery.attempts + 1))
            late = next_at - delivery.created_at > timedelta(seconds=self.policy.give_up_after)
            state = "gave_up" if permanent or late else "pending"
            if state == "gave_up":
                next_at = None
        await self.outbox.record(delivery, http_status=status, error=error, state=state,
                                 next_attempt_at=next_at)
        log.info("webhook job id=%s delivery=%s attempt %d: %s", delivery.job_id, delivery.id,
                 delivery.attempts + 1, error or f"delivered (HTTP {status})")


_REFUSED = ("refused: the host is (or resolves to) a loopback, private or link-local "
            "address; `ocrpipe up --allow-private-webhooks` allows it")
