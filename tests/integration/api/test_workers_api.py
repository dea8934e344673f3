"""`GET /v1/workers` on a real job API over SQLite: admin tokens see every process with
its state and jobs; a project token is refused (a worker's jobs span projects); the
route is in the OpenAPI document. And `ocrpipe workers` reads the same rows from the
state database."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from click.testing import CliRunner

from pipeline.api import create_app
from pipeline.cli import main as cli
from pipeline.fleet.registry import WorkerRegistry
from pipeline.store import Store, TokenStore, open_store


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[TestClient[Any, Any], Store]]:
    store = await open_store(str(tmp_path / "state.db"))
    client = TestClient(TestServer(create_app(store, base_dir=tmp_path), host="127.0.0.1"))
    await client.start_server()
    try:
        yield client, store
    finally:
        await client.close()
        await store.close()


async def get(client: TestClient[Any, Any], path: str, token: str) -> tuple[int, Any]:
    async with client.get(path, headers={"Authorization": f"Bearer {token}"}) as resp:
        return resp.status, await resp.json()


async def test_admin_tokens_list_the_workers_project_tokens_may_not(
    served: tuple[TestClient[Any, Any], Store],
) -> None:
    client, store = served
    tokens = TokenStore(store)
    admin, _ = await tokens.create(name="ops", enterprise_project=None, admin=True)
    project, _ = await tokens.create(name="fin", enterprise_project="finance")
    registry = WorkerRegistry(store)
    up = await registry.register("up", 2)
    worker = await registry.register("worker", 4, jobs=["finance/scan"])

    status, body = await get(client, "/v1/workers", admin)
    assert status == 200 and body["lease_s"] == registry.lease
    rows = {row["id"]: row for row in body["workers"]}
    assert set(rows) == {up, worker}
    assert rows[worker]["kind"] == "worker" and rows[worker]["jobs"] == ["finance/scan"]
    assert rows[worker]["state"] == "live" and rows[worker]["concurrency"] == 4
    status, body = await get(client, "/v1/workers?state=lost", admin)
    assert status == 200 and body["workers"] == []
    status, body = await get(client, "/v1/workers?state=dead", admin)
    assert status == 400 and body["code"] == "bad_parameter"

    status, body = await get(client, "/v1/workers", project)
    assert status == 403 and "admin token" in body["message"]

    async with client.get("/v1/openapi.json") as resp:
        document = await resp.json()
    assert "/v1/workers" in document["paths"] and "Worker" in document["components"]["schemas"]


async def register(db: Path) -> str:
    store = await open_store(str(db))
    try:
        return await WorkerRegistry(store).register("worker", 3, jobs=["p/a", "p/b"])
    finally:
        await store.close()


def test_ocrpipe_workers_shows_the_table_and_the_json(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    worker = asyncio.run(register(db))
    runner = CliRunner()
    shown = runner.invoke(cli, ["workers", "--state", str(db)])
    assert shown.exit_code == 0, shown.output
    header, line = shown.output.splitlines()
    assert header.split() == ["id", "host", "pid", "kind", "started", "heartbeat", "state",
                              "jobs"]
    assert line.startswith(worker) and " worker " in line and " live " in line
    assert line.endswith("p/a,p/b")
    as_json = runner.invoke(cli, ["workers", "--state", str(db), "--json"])
    assert as_json.exit_code == 0
    assert [row["id"] for row in json.loads(as_json.output)["workers"]] == [worker]
    empty = runner.invoke(cli, ["workers", "--state", str(tmp_path / "other.db")])
    assert empty.exit_code == 0 and "no workers" in empty.output
