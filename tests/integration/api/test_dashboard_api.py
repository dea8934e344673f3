"""The dashboard's routes on a real loopback server over a real SQLite state store: the
page and its files without a token, `/v1/usage` and `/v1/billing` with one, each project
token seeing its own project only."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from pipeline.api import create_app
from pipeline.dashboard import add_dashboard_routes
from pipeline.store import Store, TokenStore, open_store
from pipeline.store.schema import usage
from tests.support.billing import billing_toml, package

BILLING = billing_toml(
    package("fin-pack", 10, project="finance", alert_percent=[50], created="2020-01-01"),
    package("legal-pack", 100, project="legal", created="2020-01-01"),
    timezone="UTC",
)


class Board:
    def __init__(self, client: TestClient[Any, Any], store: Store, tmp: Path) -> None:
        self.client, self.store, self.tmp = client, store, tmp

    async def token(self, project: str | None, *, admin: bool = False) -> str:
        token, _ = await TokenStore(self.store).create(name=f"t-{project}",
                                                       enterprise_project=project, admin=admin)
        return token

    async def get(self, path: str, token: str | None = None) -> tuple[int, Any, str]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.client.get(path, headers=headers) as resp:
            body = await resp.json() if resp.content_type == "application/json" else \
                await resp.text()
            return resp.status, body, resp.content_type

    async def calls(self, project: str, outcomes: list[str], at: dt.datetime) -> None:
        rows = [{"job": "j", "doc_key": f"d{n}", "page_index": 0, "enterprise_project": project,
                 "api": "general-text", "attempt": 1, "bytes_sent": 10, "outcome": outcome,
                 "started_at": at, "day": at.date().isoformat()}
                for n, outcome in enumerate(outcomes)]
        async with self.store.engine.begin() as conn:
            await conn.execute(usage.insert(), rows)


@pytest.fixture
async def board(tmp_path: Path) -> AsyncIterator[Board]:
    store = await open_store(str(tmp_path / "state.db"))
    app = create_app(store, base_dir=tmp_path)
    add_dashboard_routes(app, store)
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        yield Board(client, store, tmp_path)
    finally:
        await client.close()
        await store.close()


async def test_the_page_and_its_files_need_no_token_the_data_does(board: Board) -> None:
    status, page, kind = await board.get("/")
    assert status == 200 and kind == "text/html"
    assert '<script src="/static/dashboard.js">' in page and "https://" not in page
    for name, wanted in [("dashboard.js", "sessionStorage"), ("vendor/uPlot.iife.js", "uPlot"),
                         ("dashboard.css", ".bar")]:
        status, text, _ = await board.get(f"/static/{name}")
        assert status == 200 and wanted in text, name
    status, body, _ = await board.get("/static/routes.py")  # only the named files
    assert status == 404
    for path in ("/v1/usage", "/v1/billing"):
        status, body, _ = await board.get(path)
        assert status == 401 and "Bearer" in body["message"]


async def test_usage_per_project_and_day_within_the_token_scope(board: Board) -> None:
    now = dt.datetime.now(dt.UTC)
    await board.calls("finance", ["billed", "billed", "failed"], now)
    await board.calls("finance", ["billed"], now - dt.timedelta(days=2))
    await board.calls("legal", ["billed", "unknown", "pending", "saved"], now)
    await board.calls("legal", ["billed"], now - dt.timedelta(days=40))  # outside 30 days
    today, before = now.date().isoformat(), (now - dt.timedelta(days=2)).date().isoformat()

    status, body, _ = await board.get("/v1/usage", await board.token("finance"))
    assert status == 200
    assert body["rows"] == [
        {"enterprise_project": "finance", "day": before, "billed": 1, "failed": 0,
         "unknown": 0, "saved": 0},
        {"enterprise_project": "finance", "day": today, "billed": 2, "failed": 1,
         "unknown": 0, "saved": 0}]
    status, body, _ = await board.get("/v1/usage?days=1", await board.token(None, admin=True))
    assert [(r["enterprise_project"], r["billed"], r["unknown"], r["saved"])
            for r in body["rows"]] == [("finance", 2, 0, 0), ("legal", 1, 2, 1)]
    status, body, _ = await board.get("/v1/usage?days=0", await board.token("legal"))
    assert status == 400 and "days" in body["message"]


async def test_billing_packages_and_alerts_within_the_token_scope(board: Board) -> None:
    finance = await board.token("finance")
    status, body, _ = await board.get("/v1/billing", finance)
    assert status == 200 and body["configured"] is False
    assert "billing.toml" in body["message"]

    (board.tmp / "billing.toml").write_text(BILLING)
    await board.calls("finance", ["billed"] * 6, dt.datetime.now(dt.UTC))
    await board.calls("legal", ["billed"] * 3, dt.datetime.now(dt.UTC))
    status, body, _ = await board.get("/v1/billing", finance)
    assert status == 200 and body["configured"] is True
    assert [(p["id"], p["used"], p["remaining"]) for p in body["packages"]] == [
        ("fin-pack", 6, 4)]
    assert [(a["subject"], a["threshold"]) for a in body["alerts"]] == [("fin-pack", 50)]
    status, body, _ = await board.get("/v1/billing", await board.token("legal"))
    assert [(p["id"], p["remaining"]) for p in body["packages"]] == [("legal-pack", 97)]
    assert body["alerts"] == []
    status, body, _ = await board.get("/v1/billing", await board.token(None, admin=True))
    assert {p["id"] for p in body["packages"]} == {"fin-pack", "legal-pack"}

    (board.tmp / "billing.toml").write_text("currency = 3\n")
    status, body, _ = await board.get("/v1/billing", finance)
    assert status == 503 and body["code"] == "billing_invalid"
