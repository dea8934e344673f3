"""The job API on a real loopback server over a real SQLite state store: tokens, project
isolation, validation, idempotency, pagination, cancel and retry."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from pipeline.api import create_app
from pipeline.store import JobQueue, Store, TokenStore, open_store
from pipeline.store.schema import api_tokens


class Api:
    def __init__(self, client: TestClient[Any, Any], store: Store, tmp: Path) -> None:
        self.client, self.store, self.tmp = client, store, tmp
        self.tokens: dict[str, str] = {}

    async def token(self, project: str | None, *, admin: bool = False) -> str:
        token, _ = await TokenStore(self.store).create(
            name=f"t-{project}", enterprise_project=project, admin=admin
        )
        return token

    async def call(self, method: str, path: str, token: str | None, *, body: Any = None,
                   raw: bytes | None = None, headers: dict[str, str] | None = None,
                   ) -> tuple[int, Any, Any]:
        hdrs = dict(headers or {})
        if token is not None:
            hdrs["Authorization"] = f"Bearer {token}"
        data: Any = io.BytesIO(raw) if raw is not None else (
            json.dumps(body) if body is not None else None)
        if data is not None:
            hdrs.setdefault("Content-Type", "application/json")
        async with self.client.request(method, path, data=data, headers=hdrs) as resp:
            payload = await resp.json() if resp.content_type == "application/json" else None
            return resp.status, payload, resp.headers

    def job(self, name: str = "scan", **extra: Any) -> dict[str, Any]:
        source = self.tmp / "in"
        source.mkdir(exist_ok=True)
        return {"name": name, "source": {"url": str(source)},
                "output": {"url": str(self.tmp / "out" / name)}, **extra}


@pytest.fixture
async def api(tmp_path: Path, store_url: str) -> AsyncIterator[Api]:
    store = await open_store(store_url)  # SQLite and PostgreSQL
    client = TestClient(TestServer(create_app(store, base_dir=tmp_path), host="127.0.0.1"))
    await client.start_server()
    try:
        yield Api(client, store, tmp_path)
    finally:
        await client.close()
        await store.close()


async def test_submit_show_and_list_with_a_project_token(api: Api) -> None:
    token = await api.token("finance")
    status, job, headers = await api.call("POST", "/v1/jobs", token, body=api.job())
    assert status == 201, job
    assert headers["Location"] == f"/v1/jobs/{job['id']}"
    assert job["status"] == "queued" and job["enterprise_project"] == "finance"
    assert job["job"]["ocr"]["enterprise_project_id"] == "finance"
    assert job["documents"] == {"total": 0, "done": 0, "failed": 0, "pending": 0,
                                "skipped": None, "listed": None}
    assert job["outputs"] == str(api.tmp / "out" / "scan")

    status, shown, _ = await api.call("GET", headers["Location"], token)
    assert status == 200 and shown["id"] == job["id"] and shown["calls"]["billed"] == 0
    status, listing, _ = await api.call("GET", "/v1/jobs", token)
    assert [j["id"] for j in listing["jobs"]] == [job["id"]]


async def test_no_token_wrong_token_revoked_token_get_401(api: Api) -> None:
    token = await api.token("finance")
    assert (await api.call("GET", "/v1/jobs", None))[0] == 401
    status, error, headers = await api.call("GET", "/v1/jobs", "ocp_not-a-token")
    assert status == 401 and "ocrpipe token create" in error["message"]
    assert headers["WWW-Authenticate"] == "Bearer"
    assert await TokenStore(api.store).revoke("t-finance") == 1
    assert (await api.call("GET", "/v1/jobs", token))[0] == 401
    # no secret is stored: only the hash
    async with api.store.engine.connect() as conn:
        rows = (await conn.execute(select(api_tokens))).all()
    assert rows and token not in repr(rows)
    if (api.tmp / "state.db").exists():  # SQLite: nowhere in the file either
        assert token.encode() not in (api.tmp / "state.db").read_bytes()
    assert (await api.call("GET", "/v1/health", None))[0] == 200


async def test_another_projects_job_is_404_like_a_missing_one(api: Api) -> None:
    finance, legal = await api.token("finance"), await api.token("legal")
    admin = await api.token(None, admin=True)
    _, job, _ = await api.call("POST", "/v1/jobs", finance, body=api.job())
    for method, path in (("GET", f"/v1/jobs/{job['id']}"),
                         ("GET", f"/v1/jobs/{job['id']}/documents"),
                         ("POST", f"/v1/jobs/{job['id']}/cancel"),
                         ("POST", f"/v1/jobs/{job['id']}/retry")):
        theirs = await api.call(method, path, legal)
        missing = await api.call(method, path.replace(job["id"], "job_0000000000000000"), legal)
        assert theirs[0] == missing[0] == 404
        assert theirs[1]["code"] == missing[1]["code"] == "job_not_found"
    assert (await api.call("GET", "/v1/jobs", legal))[1]["jobs"] == []
    assert (await api.call("GET", "/v1/jobs?enterprise_project=finance", legal))[1]["jobs"] == []
    # the job is still queued: legal's cancel did nothing
    assert (await api.call("GET", f"/v1/jobs/{job['id']}", finance))[1]["status"] == "queued"
    # an admin sees every project
    status, listing, _ = await api.call("GET", "/v1/jobs?enterprise_project=finance", admin)
    assert status == 200 and [j["id"] for j in listing["jobs"]] == [job["id"]]


async def test_a_project_token_cannot_submit_for_another_project(api: Api) -> None:
    token = await api.token("finance")
    body = api.job(ocr={"enterprise_project_id": "legal"})
    status, error, _ = await api.call("POST", "/v1/jobs", token, body=body)
    assert status == 403 and "finance" in error["message"]
    admin = await api.token(None, admin=True)
    status, job, _ = await api.call("POST", "/v1/jobs", admin, body=body)
    assert status == 201 and job["enterprise_project"] == "legal"


@pytest.mark.parametrize(("body", "names"), [
    ({"name": "x", "source": {"url": "."}, "output": {"url": "o"}, "colour": 1}, "colour"),
    ({"name": "x", "source": {"url": "."}, "output": {"url": "o"}, "ocr": {"qps": -1}},
     "ocr.qps"),
    ({"name": "x", "source": {"url": "."}}, "output"),
    ({"name": "x", "source": {"url": ".", "pdf_password": "hunter2"}, "output": {"url": "o"}},
     "pdf_password"),
    ({"name": "x", "source": {"url": "no-such-folder"}, "output": {"url": "o"}}, "source.url"),
    ({"name": "x", "source": {"url": "."}, "output": {"url": "o"}, "base_dir": "/"}, "base_dir"),
    ([1, 2], "JSON object"),
])
async def test_a_bad_job_gets_400_naming_the_key(api: Api, body: Any, names: str) -> None:
    token = await api.token("finance")
    status, error, _ = await api.call("POST", "/v1/jobs", token, body=body)
    assert status == 400, error
    assert error["code"] == "invalid_job" and names in error["message"]
    assert "hunter2" not in error["message"]


async def test_malformed_json_and_a_huge_body(api: Api) -> None:
    token = await api.token("finance")
    status, error, _ = await api.call("POST", "/v1/jobs", token, raw=b'{"name": ')
    assert status == 400 and error["code"] == "malformed_json"
    assert "not valid JSON" in error["message"]
    huge = b'{"name": "' + b"x" * (20 * 1024 * 1024) + b'"}'
    status, error, _ = await api.call("POST", "/v1/jobs", token, raw=huge)
    assert status == 413 and error["code"] == "body_too_large"
    # and the server goes on serving
    assert (await api.call("POST", "/v1/jobs", token, body=api.job()))[0] == 201


async def test_idempotency_key_returns_the_first_job(api: Api) -> None:
    finance, legal = await api.token("finance"), await api.token("legal")
    key = {"Idempotency-Key": "upload-7"}
    first = await api.call("POST", "/v1/jobs", finance, body=api.job(), headers=key)
    again = await api.call("POST", "/v1/jobs", finance, body=api.job(), headers=key)
    assert (first[0], again[0]) == (201, 200)
    assert again[1]["id"] == first[1]["id"] and again[2]["Location"] == first[2]["Location"]
    other = await api.call("POST", "/v1/jobs", finance, body=api.job("other"), headers=key)
    assert other[0] == 409 and first[1]["id"] in other[1]["message"]
    # the key is per project: legal's "upload-7" is a new job
    theirs = await api.call("POST", "/v1/jobs", legal, body=api.job(), headers=key)
    assert theirs[0] == 201 and theirs[1]["id"] != first[1]["id"]
    assert len((await api.call("GET", "/v1/jobs", finance))[1]["jobs"]) == 1


async def test_cursor_pagination_and_status_filter(api: Api) -> None:
    token = await api.token("finance")
    ids = [(await api.call("POST", "/v1/jobs", token, body=api.job(f"j{n}")))[1]["id"]
           for n in range(5)]
    seen: list[str] = []
    path = "/v1/jobs?limit=2"
    pages = 0
    while True:
        status, listing, _ = await api.call("GET", path, token)
        assert status == 200
        seen += [j["id"] for j in listing["jobs"]]
        pages += 1
        if listing["next_cursor"] is None:
            break
        path = f"/v1/jobs?limit=2&cursor={listing['next_cursor']}"
    assert seen == ids[::-1] and pages == 3
    await api.call("POST", f"/v1/jobs/{ids[1]}/cancel", token)
    status, listing, _ = await api.call("GET", "/v1/jobs?status=cancelled", token)
    assert [j["id"] for j in listing["jobs"]] == [ids[1]]
    assert (await api.call("GET", "/v1/jobs?status=sleeping", token))[0] == 400
    assert (await api.call("GET", "/v1/jobs?limit=0", token))[0] == 400
    assert (await api.call("GET", "/v1/jobs?cursor=abc", token))[0] == 400


async def test_cancel_and_retry_follow_the_job_states(api: Api) -> None:
    token = await api.token("finance")
    _, queued, _ = await api.call("POST", "/v1/jobs", token, body=api.job("a"))
    _, running, _ = await api.call("POST", "/v1/jobs", token, body=api.job("b"))
    queue = JobQueue(api.store)
    claimed = await queue.claim("w1", lease=60)
    assert claimed is not None and claimed.id == queued["id"]  # same priority: oldest first
    claimed2 = await queue.claim("w2", lease=60)
    assert claimed2 is not None and claimed2.id == running["id"]

    assert (await api.call("POST", f"/v1/jobs/{queued['id']}/retry", token))[0] == 409
    status, job, _ = await api.call("POST", f"/v1/jobs/{running['id']}/cancel", token)
    assert status == 200 and job["status"] == "cancelling"
    assert await queue.renew(running["id"], "w2", 60) == "cancelling"  # the worker sees it
    assert await queue.release(running["id"], "w2") == "cancelled"
    assert (await api.call("POST", f"/v1/jobs/{running['id']}/cancel", token))[0] == 409
    status, job, _ = await api.call("POST", f"/v1/jobs/{running['id']}/retry", token)
    assert status == 200 and job["status"] == "queued" and job["finished_at"] is None


async def test_documents_of_a_job(api: Api) -> None:
    from pipeline.models import SourceObject

    token = await api.token("finance")
    _, job, _ = await api.call("POST", "/v1/jobs", token, body=api.job("docs"))
    key = "finance/docs"  # the run key: documents of a queued job live under it
    ok = await api.store.begin_document(key, SourceObject("a.png", "/a.png", 1, change_token="1"))
    bad = await api.store.begin_document(key, SourceObject("b.pdf", "/b.pdf", 1, change_token="2"))
    await api.store.finish_document(ok, status="done", page_count=1, outputs=["/o/a.png.txt"])
    await api.store.finish_document(bad, status="failed", error="not a PDF: it is damaged")
    status, listing, _ = await api.call("GET", f"/v1/jobs/{job['id']}/documents?status=failed",
                                        token)
    assert status == 200
    assert [(d["key"], d["error"]) for d in listing["documents"]] == [
        ("b.pdf", "not a PDF: it is damaged")]
    _, shown, _ = await api.call("GET", f"/v1/jobs/{job['id']}", token)
    assert shown["documents"] == {"total": 2, "done": 1, "failed": 1, "pending": 0,
                                  "skipped": None, "listed": None}


async def test_openapi_document_is_served(api: Api) -> None:
    status, document, _ = await api.call("GET", "/v1/openapi.json", None)
    assert status == 200 and document["openapi"] == "3.1.0"
    body = document["components"]["schemas"]["JobBody"]
    assert "base_dir" not in body["properties"] and "name" in body["required"]
    assert "pdf_password" not in document["components"]["schemas"]["SourceSpec"]["properties"]


async def test_a_failing_state_database_is_reported_as_503(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlite3

    from sqlalchemy.exc import OperationalError

    token = await api.token("finance")

    async def locked(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("SELECT ...", {}, sqlite3.OperationalError("database is locked"))

    monkeypatch.setattr(JobQueue, "list_jobs", locked)
    status, error, headers = await api.call("GET", "/v1/jobs", token)
    assert status == 503 and error["code"] == "state_unavailable"
    assert "database is locked" in error["message"] and "SELECT" not in error["message"]
    assert headers["Retry-After"] == "5"
    monkeypatch.undo()
    assert (await api.call("GET", "/v1/jobs", token))[0] == 200  # and it goes on serving


async def test_metrics_count_jobs_and_calls_for_admins(api: Api) -> None:
    from pipeline.models import UsageRecord

    finance, admin = await api.token("finance"), await api.token(None, admin=True)
    for name in ("a", "b"):
        await api.call("POST", "/v1/jobs", finance, body=api.job(name))
    _, job, _ = await api.call("POST", "/v1/jobs", finance, body=api.job("c"))
    await api.call("POST", f"/v1/jobs/{job['id']}/cancel", finance)
    await api.store.start_attempt(UsageRecord("finance/a", "x.png", 0, "finance",
                                              "general-text", 1, 10))
    assert (await api.call("GET", "/metrics", finance))[0] == 403
    async with api.client.get("/metrics", headers={"Authorization": f"Bearer {admin}"}) as resp:
        assert resp.status == 200 and resp.content_type == "text/plain"
        text = await resp.text()
    lines = set(text.splitlines())
    assert {'ocrpipe_jobs{status="queued"} 2', 'ocrpipe_jobs{status="cancelled"} 1',
            "ocrpipe_job_queue_depth 2", "ocrpipe_pages_total 0",
            'ocrpipe_ocr_calls_total{enterprise_project="finance",outcome="pending"} 1'} <= lines


async def test_data_root_confines_the_local_folders_of_submitted_jobs(tmp_path: Path) -> None:
    root = tmp_path / "data"
    (root / "in").mkdir(parents=True)
    store = await open_store(str(tmp_path / "state.db"))
    client = TestClient(TestServer(create_app(store, base_dir=root, data_root=root),
                                   host="127.0.0.1"))
    await client.start_server()
    try:
        api = Api(client, store, tmp_path)
        token = await api.token("finance")
        inside = {"name": "j", "source": {"url": "in"}, "output": {"url": str(root / "out")}}
        assert (await api.call("POST", "/v1/jobs", token, body=inside))[0] == 201
        for key, outside in (("source.url", {**inside, "source": {"url": str(tmp_path)}}),
                             ("output.url", {**inside, "output": {"url": "../../elsewhere"}}),
                             ("source.url", {**inside, "source": {"url": "in/../.."}})):
            status, error, _ = await api.call("POST", "/v1/jobs", token, body=outside)
            assert status == 403 and error["message"].startswith(key), error
    finally:
        await client.close()
        await store.close()


async def test_unknown_paths_and_methods_answer_json(api: Api) -> None:
    token = await api.token("finance")
    status, error, _ = await api.call("GET", "/v1/nothing", token)
    assert status == 404 and error["code"] == "not_found"
    status, error, headers = await api.call("DELETE", "/v1/jobs", token)
    assert status == 405 and error["code"] == "method_not_allowed"
    assert {"GET", "POST"} <= set(headers["Allow"].split(","))
    assert (await api.call("GET", "/v1/nothing", None))[0] == 401  # no token: nothing told


async def test_retry_of_a_done_job_takes_its_failed_documents_only(api: Api) -> None:
    from pipeline.models import SourceObject

    token = await api.token("finance")
    _, job, _ = await api.call("POST", "/v1/jobs", token, body=api.job("retry"))
    assert job["scope"] == "all"
    queue = JobQueue(api.store)
    key = "finance/retry"
    ok = await api.store.begin_document(key, SourceObject("a.png", "/a.png", 1, change_token="1"))
    await api.store.finish_document(ok, status="done", page_count=1)
    assert (await queue.claim("w1", lease=60)) is not None
    assert await queue.finish(job["id"], "w1", status="done", exit_code=0)
    status, error, _ = await api.call("POST", f"/v1/jobs/{job['id']}/retry", token)
    assert status == 409 and error["code"] == "cannot_retry"
    assert "nothing to retry" in error["message"]

    bad = await api.store.begin_document(key, SourceObject("b.pdf", "/b.pdf", 1, change_token="2"))
    await api.store.finish_document(bad, status="failed", error="damaged")
    status, queued, _ = await api.call("POST", f"/v1/jobs/{job['id']}/retry", token)
    assert status == 200 and queued["status"] == "queued" and queued["scope"] == "failed"
    assert await queue.unfinished_keys(key) == {"b.pdf"}
