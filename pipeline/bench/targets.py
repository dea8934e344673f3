"""What `ocrpipe bench` measures: the embedded service, the testing kit's fake, or a URL.

    embedded   a fresh embedded service on loopback (`pipeline.embedded`), the engine a
               job with `endpoint = "embedded"` gets
    fake       `pipeline.testing.FakeOcrServer`: every call answered after a fixed latency
               (optionally 429 above a quota), so what is measured is ocrpipe's own side
    URL        `ocrpipe serve` or Huawei Cloud; AK/SK as for jobs (environment or the
               credentials file). Anything not on loopback may bill: `may_bill`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import multiprocessing
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection

from yarl import URL

from pipeline.errors import ConfigError
from pipeline.ocr.credentials import Credentials, load_credentials

LOCAL_PROJECT = "0123456789abcdef0123456789abcdef"
"""The {project_id} sent to a loopback target, which accepts any."""


@dataclass(frozen=True)
class FakeSettings:
    """The built-in fake's behaviour: answer after `latency` s; over `quota` calls/s, 429."""

    latency: float = 0.05
    quota: float | None = None


@dataclass(frozen=True)
class Endpoint:
    url: str
    credentials: Credentials
    project_id: str
    label: str


def kind_of(target: str) -> str:
    """"embedded", "fake" or "url" (`ConfigError` for anything else)."""
    if target in ("embedded", "fake"):
        return target
    url = URL(target)
    if url.scheme in ("http", "https") and url.host:
        return "url"
    raise ConfigError(
        f"bench target {target!r} is not 'embedded', 'fake' or an http(s):// URL"
    )


def may_bill(target: str) -> bool:
    """Whether calls to `target` may cost money: a URL whose host is not loopback."""
    if kind_of(target) != "url":
        return False
    host = URL(target).host or ""
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True


@asynccontextmanager
async def open_target(
    target: str,
    *,
    project_id: str | None,
    enterprise_project: str | None,
    fake: FakeSettings,
    workers: int | None,
    engine: str = "rapidocr",
) -> AsyncIterator[Endpoint]:
    """Start (embedded, fake) or name (URL) the endpoint for the length of the bench."""
    kind = kind_of(target)
    if kind == "embedded":
        from pipeline.embedded import embedded_service

        async with embedded_service(workers, engine=engine) as (url, creds):
            yield Endpoint(url, creds, LOCAL_PROJECT, f"embedded ({engine})")
        return
    if kind == "fake":
        creds = Credentials(ak="AKBENCH" + secrets.token_hex(6).upper(), sk=secrets.token_hex(20))
        async with fake_in_process(creds, fake) as url:
            quota = f", 429 above {fake.quota:g}/s" if fake.quota else ""
            yield Endpoint(url, creds, LOCAL_PROJECT,
                           f"fake ({fake.latency * 1000:g} ms{quota})")
        return
    if project_id is None:
        if may_bill(target):
            raise ConfigError(
                "--project-id is needed for a remote endpoint: the {project_id} of its "
                "URLs (Huawei Cloud console, My Credentials, Projects)"
            )
        project_id = LOCAL_PROJECT
    creds = load_credentials(project=enterprise_project)
    yield Endpoint(str(URL(target)).rstrip("/"), creds, project_id, str(URL(target).origin()))


@asynccontextmanager
async def fake_in_process(creds: Credentials, fake: FakeSettings) -> AsyncIterator[str]:
    """The testing kit's fake in a process of its own (so that answering does not take
    the CPU of the process being measured); yields its URL."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    process = context.Process(target=_serve_fake, args=(theirs, creds.ak, creds.sk, fake),
                              name="ocrpipe-bench-fake", daemon=True)
    process.start()
    try:
        if not await asyncio.to_thread(ours.poll, 60.0):
            raise ConfigError("the fake OCR service did not start within 60 s")
        url: str = ours.recv()
        yield url
    finally:
        ours.send("stop")
        await asyncio.to_thread(process.join, 5.0)
        if process.is_alive():
            process.terminate()
        ours.close()


def _serve_fake(conn: Connection, ak: str, sk: str, fake: FakeSettings) -> None:
    from pipeline.testing import FakeOcrServer, Reply

    async def serve() -> None:
        async with FakeOcrServer(
            project_id=LOCAL_PROJECT, credentials={ak: sk}, default=Reply.ok(delay=fake.latency),
            keep_bodies=False, throttle_above=fake.quota,
        ) as server:
            conn.send(server.url)
            await asyncio.to_thread(conn.recv)  # until the bench is over

    asyncio.run(serve())
