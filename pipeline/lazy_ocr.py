"""The OCR side of a run, started only when there is a page to send.

`pipeline.embedded.ocr_endpoint` gives the endpoint and AK/SK: a fresh embedded service
with a generated pair, or the configured endpoint. `LazyOcr` is the job's recognizer: the first page
that needs OCR starts the endpoint (the embedded engine takes seconds to load) and
builds the rate-limited client; a re-run over an unchanged folder starts nothing.
Under `ocrpipe up`, a job on the shared embedded service takes its turns there through
the process's `FairDispatcher` (`pipeline.fair_share`), behind its own qps and concurrency.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

import aiohttp

from pipeline.config import JobSpec
from pipeline.errors import ConfigError, OcrpipeError
from pipeline.fair_share import current_dispatcher
from pipeline.ledger import LedgerHook
from pipeline.models import OcrRequest, OcrResult
from pipeline.ocr.client import OcrClient
from pipeline.ocr.credentials import load_credentials
from pipeline.ocr.policy import LimitedClient
from pipeline.ocr.shares import current_share_keeper
from pipeline.ocr.token import load_iam_password, token_provider_for


def check_credentials(spec: JobSpec) -> None:
    """Missing credentials for a remote endpoint stop the job before anything starts."""
    if spec.ocr.endpoint == "embedded":
        return
    if spec.ocr.auth == "token":
        load_iam_password()
    else:
        load_credentials()


class LazyOcr:
    """A recognizer whose endpoint and client are made on the first `recognize`; what
    it started is closed with `stack`."""

    def __init__(
        self, spec: JobSpec, stack: AsyncExitStack, session: aiohttp.ClientSession,
        ledger: LedgerHook, stopping: asyncio.Event,
    ) -> None:
        self._spec = spec
        self._stack = stack
        self._session = session
        self._ledger = ledger
        self._stopping = stopping
        self._lock = asyncio.Lock()
        self._client: LimitedClient | None = None

    @property
    def started(self) -> bool:
        return self._client is not None

    @property
    def client(self) -> LimitedClient | None:
        """The job's limited client once started (its `limiter` sets the job's rate)."""
        return self._client

    async def recognize(self, request: OcrRequest) -> OcrResult:
        return await (await self._started()).recognize(request)

    async def _started(self) -> LimitedClient:
        async with self._lock:
            if self._client is None:
                spec = self._spec
                try:
                    # imported here: the service (numpy, its engines' glue) costs a run
                    # that sends to a remote endpoint about half a second of start-up
                    from pipeline.embedded import ocr_endpoint

                    endpoint, creds = await self._stack.enter_async_context(ocr_endpoint(spec))
                except OcrpipeError:
                    raise
                except Exception as exc:  # the engine cannot start: no page can be read
                    raise ConfigError(
                        f"the OCR endpoint could not be started: {exc.__class__.__name__}: "
                        f"{exc}"
                    ) from exc
                client = OcrClient(
                    self._session, endpoint=endpoint, project_id=spec.ocr.project_id,
                    credentials=creds, token=token_provider_for(self._session, spec.ocr),
                    enterprise_project_id=spec.ocr.enterprise_project_id,
                    timeout=spec.ocr.timeout,
                )
                fair = current_dispatcher() if spec.ocr.endpoint == "embedded" else None
                project, job = spec.ocr.enterprise_project_id, spec.name
                self._client = LimitedClient(
                    client, qps=spec.ocr.qps, concurrency=spec.ocr.concurrency,
                    on_attempt=self._ledger, stopping=self._stopping,
                    gate=(lambda: fair.turn(project, job)) if fair is not None else None,
                )
                keeper = current_share_keeper()  # a fleet member: its share of qps, concurrency
                if keeper is not None:
                    keeper.attach(job, self._client, spec.ocr.qps, spec.ocr.concurrency)
                    self._stack.callback(keeper.detach, job, self._client)
            return self._client
