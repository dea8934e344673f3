"""The job API: an aiohttp application over the state store's job queue.

`create_app(store)` builds it: two middlewares (errors become JSON `{"code", "message"}`;
bearer tokens are checked against the hashes in the store) and the routes under `/v1`,
described by the OpenAPI document at `GET /v1/openapi.json`; `GET /metrics` (Prometheus,
admin tokens). A token bound to an
enterprise project sees and submits that project's jobs only: another project's job
answers 404, as a missing one does. `GET /v1/health` and `/v1/openapi.json` need no token.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy.exc import OperationalError

from pipeline import __version__
from pipeline.api.http import (
    MAX_BODY,
    TOKEN_KEY,
    ApiError,
    choice_param,
    int_param,
    problem,
    read_json,
    scope_of,
    token_of,
)
from pipeline.api.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from pipeline.api.metrics import render_metrics
from pipeline.api.openapi import openapi_document
from pipeline.api.submit import Forbidden, WebhookRules, job_from_body, stored_spec
from pipeline.api.views import document_view, job_url, job_view
from pipeline.errors import ConfigError
from pipeline.store import JobQueue, JobRecord, StateConflict, Store, TokenStore
from pipeline.store.jobs import STATUSES
from pipeline.store.webhooks import WebhookStore

log = logging.getLogger(__name__)

PUBLIC_PATHS = frozenset({"/v1/health", "/v1/openapi.json", "/"})
PUBLIC_PREFIXES = ("/static/",)  # the dashboard's files (pipeline.dashboard)
DOCUMENT_STATUSES = ("pending", "done", "failed")

QUEUE = web.AppKey("queue", JobQueue)
TOKENS = web.AppKey("tokens", TokenStore)
BASE_DIR = web.AppKey("base_dir", Path)
DATA_ROOT = web.AppKey("data_root", Path)
WEBHOOK_RULES = web.AppKey("webhook_rules", WebhookRules)
OUTBOX = web.AppKey("outbox", WebhookStore)
OPENAPI = web.AppKey("openapi", bytes)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


_HTTP_CODES = {
    404: ("not_found", "no such endpoint: see GET /v1/openapi.json"),
    405: ("method_not_allowed", "this method is not allowed here: see GET /v1/openapi.json"),
    413: ("body_too_large", f"the body is larger than {MAX_BODY} bytes: a job is a few kB of JSON"),
}


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        extra = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
        return problem(exc.status, exc.code, exc.message, **extra)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code, message = _HTTP_CODES.get(exc.status, ("http_error", exc.reason))
        allow = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else {}
        return problem(exc.status, code, message, **allow)
    except OperationalError as exc:  # locked past the busy timeout, disk full, read-only
        log.error("%s %s: the state database failed: %s", request.method, request.path,
                  exc.orig)
        return problem(503, "state_unavailable", f"the state database cannot be used now "
                       f"({exc.orig}): retry later; if it lasts, check the disk it is on "
                       "(full? read-only?) and what else holds it", **{"Retry-After": "5"})
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return problem(500, "internal_error", "the server failed on this request: its log says "
                       "why; retry, and report it if it lasts")


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path in PUBLIC_PATHS or request.path.startswith(PUBLIC_PREFIXES):
        return await handler(request)
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "send `Authorization: Bearer TOKEN` "
                       "(create a token with `ocrpipe token create --project EP`)")
    info = await request.app[TOKENS].check(token.strip())
    if info is None:
        raise ApiError(401, "unauthorized", "the token is unknown or revoked: "
                       "create a new one with `ocrpipe token create --project EP`")
    request[TOKEN_KEY] = info
    return await handler(request)


async def _job(request: web.Request) -> JobRecord:
    """The job named in the path, if the token may see it; else 404, as for a missing one."""
    job_id = request.match_info["job_id"]
    job = await request.app[QUEUE].get(job_id, project=scope_of(request))
    if job is None:
        raise ApiError(404, "job_not_found", f"no job {job_id!r}: GET /v1/jobs lists yours")
    return job


async def _full_view(request: web.Request, job: JobRecord) -> dict[str, Any]:
    """The job with its documents, pages and calls counted, and its webhook deliveries."""
    view = job_view(job, await request.app[QUEUE].progress(job.run_key, job.run_started_at))
    if job.webhook is not None:
        view["notify"] = {"webhook": job.webhook,
                          "deliveries": await request.app[OUTBOX].for_job(job.id)}
    return view


async def submit_job(request: web.Request) -> web.Response:
    body = await read_json(request)
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 0 < len(key) <= 200:
        raise ApiError(400, "bad_header", "Idempotency-Key: 1 to 200 characters")
    try:
        spec = job_from_body(body, token_of(request), base_dir=request.app[BASE_DIR],
                             data_root=request.app.get(DATA_ROOT),
                             webhooks=request.app[WEBHOOK_RULES])
    except ConfigError as exc:
        raise ApiError(400, "invalid_job", str(exc)) from None
    except Forbidden as exc:
        raise ApiError(403, "forbidden", str(exc)) from None
    data = stored_spec(spec)
    queue = request.app[QUEUE]
    job, created = await queue.submit(
        name=spec.name, enterprise_project=spec.ocr.enterprise_project_id, spec=data,
        priority=spec.priority, idempotency_key=key,
        webhook=spec.notify.webhook if spec.notify is not None else None,
    )
    if not created and job.spec != json.loads(json.dumps(data, sort_keys=True)):
        raise ApiError(409, "idempotency_conflict", f"Idempotency-Key {key!r} was used for a "
                       f"different job ({job.id}): use a new key for a new job")
    log.info("job=%s id=%s project=%s %s", job.name, job.id, job.enterprise_project,
             "submitted" if created else "submitted again (same Idempotency-Key)")
    view = await _full_view(request, job)
    return web.json_response(view, status=201 if created else 200,
                             headers={"Location": job_url(job.id)})


async def list_jobs(request: web.Request) -> web.Response:
    status = choice_param(request, "status", STATUSES)
    cursor = int_param(request, "cursor", None, 1, 2**62)
    limit = int_param(request, "limit", 50, 1, 200) or 50
    scope = scope_of(request)
    wanted = request.query.get("enterprise_project")
    if scope is not None and wanted is not None and wanted != scope:
        return web.json_response({"jobs": [], "next_cursor": None})
    jobs = await request.app[QUEUE].list_jobs(
        project=scope or wanted, status=status, before_seq=cursor, limit=limit
    )
    next_cursor = str(jobs[-1].seq) if len(jobs) == limit else None
    return web.json_response({"jobs": [job_view(j) for j in jobs], "next_cursor": next_cursor})


async def show_job(request: web.Request) -> web.Response:
    job = await _job(request)
    return web.json_response(await _full_view(request, job))


async def list_documents(request: web.Request) -> web.Response:
    job = await _job(request)
    status = choice_param(request, "status", DOCUMENT_STATUSES)
    cursor = int_param(request, "cursor", None, 0, 2**62)
    limit = int_param(request, "limit", 100, 1, 500) or 100
    rows = await request.app[QUEUE].documents(job.run_key, status=status, after_id=cursor,
                                              limit=limit)
    next_cursor = str(rows[-1]["id"]) if len(rows) == limit else None
    return web.json_response({"documents": [document_view(r) for r in rows],
                              "next_cursor": next_cursor})


async def cancel_job(request: web.Request) -> web.Response:
    job = await _job(request)
    queue = request.app[QUEUE]
    try:
        job = await queue.cancel(job.id)
    except StateConflict as exc:
        raise ApiError(409, "job_ended", str(exc)) from None
    log.info("job=%s id=%s project=%s cancel: %s", job.name, job.id, job.enterprise_project,
             job.status)
    return web.json_response(await _full_view(request, job))


async def retry_job(request: web.Request) -> web.Response:
    job = await _job(request)
    queue = request.app[QUEUE]
    try:
        job = await queue.retry(job.id)
    except StateConflict as exc:
        raise ApiError(409, "cannot_retry", str(exc)) from None
    log.info("job=%s id=%s project=%s queued again (scope: %s)", job.name, job.id,
             job.enterprise_project, job.run_scope or "all")
    return web.json_response(await _full_view(request, job))


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok", "version": __version__})


async def metrics(request: web.Request) -> web.Response:
    if not token_of(request).admin:
        raise ApiError(403, "forbidden", "/metrics shows every project: use an admin token "
                       "(`ocrpipe token create --admin`)")
    text = await render_metrics(request.app[QUEUE])
    return web.Response(text=text, headers={"Content-Type": METRICS_CONTENT_TYPE})


async def openapi(request: web.Request) -> web.Response:
    return web.Response(body=request.app[OPENAPI], content_type="application/json")


def create_app(store: Store, *, base_dir: Path | None = None,
               data_root: Path | None = None,
               webhooks: WebhookRules | None = None) -> web.Application:
    """The job API over `store`. Relative local paths in submitted jobs are resolved
    against `base_dir` (default: the current folder); with `data_root`, local folders of
    submitted jobs must lie inside it."""
    app = web.Application(client_max_size=MAX_BODY,
                          middlewares=[errors_middleware, auth_middleware])
    app[QUEUE] = JobQueue(store)
    app[TOKENS] = TokenStore(store)
    app[OUTBOX] = WebhookStore(store)
    app[WEBHOOK_RULES] = webhooks or WebhookRules()
    app[BASE_DIR] = (base_dir or Path.cwd()).resolve()
    if data_root is not None:
        app[DATA_ROOT] = data_root.resolve()
    document: dict[str, Any] = openapi_document()
    app[OPENAPI] = json.dumps(document).encode()
    app.router.add_get("/v1/health", health)
    app.router.add_get("/v1/openapi.json", openapi)
    app.router.add_get("/metrics", metrics)
    app.router.add_post("/v1/jobs", submit_job)
    app.router.add_get("/v1/jobs", list_jobs)
    app.router.add_get("/v1/jobs/{job_id}", show_job)
    app.router.add_get("/v1/jobs/{job_id}/documents", list_documents)
    app.router.add_post("/v1/jobs/{job_id}/cancel", cancel_job)
    app.router.add_post("/v1/jobs/{job_id}/retry", retry_job)
    return app
