"""The one door from the pipeline into the OCR service: start the embedded endpoint for a
job whose `endpoint = "embedded"`, or name the configured one.

Everything else of the pipeline talks to OCR over HTTP only, through `pipeline.ocr`, as
it would to Huawei Cloud (the import-linter contracts in pyproject.toml keep it so).
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from pipeline.config import JobSpec
from pipeline.errors import ConfigError
from pipeline.ocr.credentials import Credentials, load_credentials
from pipeline.service.apierror import SetupError
from pipeline.service.app import ServiceLimits
from pipeline.service.limits import MAX_CONNECTIONS
from pipeline.service.server import ServiceConfig, running_service


@asynccontextmanager
async def ocr_endpoint(spec: JobSpec) -> AsyncIterator[tuple[str, Credentials | None]]:
    """The endpoint and AK/SK to use: a fresh embedded service with a generated pair, or
    the configured endpoint (no AK/SK when the job authenticates with IAM tokens)."""
    if spec.ocr.endpoint != "embedded":
        yield spec.ocr.endpoint, None if spec.ocr.auth == "token" else load_credentials()
        return
    creds = Credentials(ak=secrets.token_hex(10).upper(), sk=secrets.token_hex(20))
    # Its one client is this job, on loopback: no cap per address below the total.
    config = ServiceConfig(
        host="127.0.0.1", port=0, workers=spec.ocr.embedded_workers,
        credentials={creds.ak: creds.sk},
        limits=ServiceLimits(max_connections_per_address=MAX_CONNECTIONS),
    )
    try:
        async with running_service(config) as url:
            yield url, creds
    except SetupError as exc:  # raised while starting: the job's body raises none
        raise ConfigError(f"the embedded OCR service cannot start: {exc}") from None
