"""schemathesis against `GET /v1/openapi.json`: generated requests (valid and not) to every
operation of a real job API on loopback; no answer is a 5xx, and every answer's status,
content type, headers and body match the document."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from pipeline.api import create_app
from pipeline.dashboard import add_dashboard_routes
from pipeline.store import JobQueue, ScheduleRecord, ScheduleStore, TokenStore, open_store

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]


@dataclass(frozen=True)
class LiveApi:
    url: str
    token: str


def _serve(db: Path, started: concurrent.futures.Future[LiveApi], stop: threading.Event,
           folder: Path) -> None:
    async def main() -> None:
        store = await open_store(str(db))
        token, _ = await TokenStore(store).create(name="st", enterprise_project="finance")
        # a job to find, so that GETs of a real id are generated too
        await JobQueue(store).submit(name="seen", enterprise_project="finance",
                                     spec={"name": "seen", "output": {"url": str(folder)}})
        # and a schedule, for the operations on a real schedule name
        await ScheduleStore(store).put(ScheduleRecord(
            enterprise_project="finance", name="seen", spec={"name": "seen"}, cron="@daily",
            timezone="Asia/Shanghai", overlap="skip", misfire="run_once", paused=False,
            origin="api", created_at=datetime.now(UTC)))
        app = create_app(store, base_dir=folder)
        add_dashboard_routes(app, store)  # as `ocrpipe up` serves it
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        port = runner.addresses[0][1]
        started.set_result(LiveApi(f"http://127.0.0.1:{port}", token))
        await asyncio.to_thread(stop.wait)
        await runner.cleanup()
        await store.close()

    asyncio.run(main())


@pytest.fixture(scope="module")
def live_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    folder = tmp_path_factory.mktemp("api")
    started: concurrent.futures.Future[LiveApi] = concurrent.futures.Future()
    stop = threading.Event()
    thread = threading.Thread(target=_serve, args=(folder / "state.db", started, stop, folder),
                              daemon=True)
    thread.start()
    try:
        yield started.result(timeout=60)
    finally:
        stop.set()
        thread.join(30)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.slow  # 2 s and more (measured)
def test_the_api_keeps_its_openapi_document(live_api: LiveApi, mode: GenerationMode) -> None:
    # each operation by hand: schemathesis's lazy pytest fixture loader fails on pytest 9
    schema = schemathesis.openapi.from_url(f"{live_api.url}/v1/openapi.json")
    headers = {"Authorization": f"Bearer {live_api.token}"}
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result.err()  # the document itself is valid
        operations.append(result.ok())
    assert len(operations) >= 7  # every route (schemathesis may leave out the document)
    skipped: list[str] = []
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=15, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def conforms(case: schemathesis.Case[Any]) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            conforms()
        except Unsatisfiable:
            # nothing to get wrong in a request to an operation without inputs (/v1/health)
            assert mode is GenerationMode.NEGATIVE and not operation.path_parameters
            skipped.append(operation.label)
    assert len(skipped) <= 1, skipped
