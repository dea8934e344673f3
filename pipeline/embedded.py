"""The one door from the pipeline into the OCR service: start the embedded endpoint for a
job whose `endpoint = "embedded"`, or name the configured one.

Everything else of the pipeline talks to OCR over HTTP only, through `pipeline.ocr`, as
it would to Huawei Cloud (the import-linter contracts in pyproject.toml keep it so).

A long-running process (`ocrpipe up`) shares one embedded service between all its jobs:
`SharedEmbedded.use()` makes `ocr_endpoint` hand out that service (started at the first
job that wants it) to every run started in the current context, instead of a new one each.

The service's modules are imported only where a service is started: a run that sends to
a remote endpoint comes here too, and importing them cost it a tenth of a second or more
of CPU at every start (issue 15).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

from pipeline.config import JobSpec
from pipeline.errors import ConfigError
from pipeline.ocr.credentials import Credentials, load_credentials

if TYPE_CHECKING:
    from pipeline.service.server import ServiceConfig


@asynccontextmanager
async def ocr_endpoint(spec: JobSpec) -> AsyncIterator[tuple[str, Credentials | None]]:
    """The endpoint and AK/SK to use: a fresh embedded service with a generated pair, or
    the configured endpoint (no AK/SK when the job authenticates with IAM tokens)."""
    if spec.ocr.endpoint != "embedded":
        token_auth = spec.ocr.auth == "token"
        yield spec.ocr.endpoint, None if token_auth else load_credentials(
            project=spec.ocr.enterprise_project_id)
        return
    shared = _shared.get()
    if shared is not None:
        yield await shared.endpoint()
        return
    async with embedded_service(spec.ocr.embedded_workers,
                                engine=spec.ocr.embedded_engine) as (url, creds):
        yield url, creds


@asynccontextmanager
async def embedded_service(
    workers: int | None = None, *, engine: str = "rapidocr",
) -> AsyncIterator[tuple[str, Credentials]]:
    """A fresh embedded service on loopback and the key pair it accepts (a job's, or
    `ocrpipe bench embedded`)."""
    from pipeline.service.apierror import SetupError
    from pipeline.service.server import running_service

    creds, config = _service_config(workers, engine)
    try:
        async with running_service(config) as url:
            yield url, creds
    except SetupError as exc:  # raised while starting: the caller's body raises none
        raise ConfigError(f"the embedded OCR service cannot start: {exc}") from None


def _service_config(
    workers: int | None, engine: str = "rapidocr"
) -> tuple[Credentials, ServiceConfig]:
    """A loopback service on a free port that accepts one freshly generated key pair."""
    from pipeline.service.app import ServiceLimits
    from pipeline.service.limits import MAX_CONNECTIONS
    from pipeline.service.server import ServiceConfig

    creds = Credentials(ak=secrets.token_hex(10).upper(), sk=secrets.token_hex(20))
    # Its clients are this process's jobs, on loopback: no cap per address below the total.
    config = ServiceConfig(
        host="127.0.0.1", port=0, workers=workers, credentials={creds.ak: creds.sk},
        limits=ServiceLimits(max_connections_per_address=MAX_CONNECTIONS), engine=engine,
    )
    return creds, config


class SharedEmbedded:
    """One embedded service for every job of a process, started when the first job wants
    it (a job's own `embedded_workers` is then not used: `workers` here holds), stopped by
    `aclose()`. `engine` is the service's engine ("scripted" in tests)."""

    def __init__(self, workers: int | None = None, engine: str = "rapidocr") -> None:
        self.workers = workers
        self.engine = engine
        self.started = 0
        self._lock = asyncio.Lock()
        self._stack = AsyncExitStack()
        self._endpoint: tuple[str, Credentials] | None = None

    def use(self) -> None:
        """Runs started from the current context (and tasks created from it) share it."""
        _shared.set(self)

    async def endpoint(self) -> tuple[str, Credentials]:
        from pipeline.service.apierror import SetupError
        from pipeline.service.server import running_service

        async with self._lock:
            if self._endpoint is None:
                creds, config = _service_config(self.workers, self.engine)
                try:
                    url = await self._stack.enter_async_context(running_service(config))
                except SetupError as exc:
                    raise ConfigError(f"the embedded OCR service cannot start: {exc}") from None
                self.started += 1
                self._endpoint = (url, creds)
            return self._endpoint

    @property
    def fair_capacity(self) -> int:
        """OCR calls the jobs may have at the service at once: two per engine process, so
        that every engine has its next page waiting while the turns stay fair (and the
        service's own queue is not overrun into 429s)."""
        from pipeline.service.engine import available_cores

        return 2 * (self.workers or available_cores())

    async def aclose(self) -> None:
        await self._stack.aclose()
        self._endpoint = None


_shared: ContextVar[SharedEmbedded | None] = ContextVar("ocrpipe_shared_embedded", default=None)
