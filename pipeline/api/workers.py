"""`GET /v1/workers`: the processes of the fleet (pipeline/fleet/registry.py), for admin
tokens only: a worker runs every project's jobs, so its row names them all."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from pipeline.api.app import OPENAPI
from pipeline.api.http import ApiError, choice_param, token_of
from pipeline.api.openapi import AUTH_ERRORS, answer, query_param, ref
from pipeline.fleet.registry import WorkerRegistry
from pipeline.store import Store

REGISTRY = web.AppKey("workers", WorkerRegistry)
STATES = ("live", "lost")


def add_worker_routes(app: web.Application, store: Store) -> None:
    """Add the route, and its path and schemas to the OpenAPI document it serves."""
    document = json.loads(app[OPENAPI])
    document["paths"].update(WORKER_PATHS)
    document["components"]["schemas"].update(WORKER_SCHEMAS)
    app[OPENAPI] = json.dumps(document).encode()
    app[REGISTRY] = WorkerRegistry(store)
    app.router.add_get("/v1/workers", list_workers)


async def list_workers(request: web.Request) -> web.Response:
    if not token_of(request).admin:
        raise ApiError(403, "forbidden", "/v1/workers shows every project's jobs: use an "
                       "admin token (`ocrpipe token create --admin`)")
    state = choice_param(request, "state", STATES)
    registry = request.app[REGISTRY]
    now = datetime.now(UTC)
    rows = [row.view(now, registry.lease) for row in await registry.list_workers()]
    if state is not None:
        rows = [row for row in rows if row["state"] == state]
    return web.json_response({"workers": rows, "lease_s": registry.lease})


_TIME = {"type": "string", "format": "date-time"}

WORKER_SCHEMAS: dict[str, Any] = {
    "Worker": {
        "type": "object",
        "required": ["id", "host", "pid", "kind", "concurrency", "started_at", "heartbeat_at",
                     "heartbeat_age_s", "state", "jobs"],
        "properties": {
            "id": {"type": "string", "description": "host:pid:random"},
            "host": {"type": "string"},
            "pid": {"type": "integer"},
            "kind": {"enum": ["up", "worker", "run"]},
            "concurrency": {"type": "integer", "minimum": 0,
                            "description": "jobs it runs at once"},
            "started_at": _TIME,
            "heartbeat_at": _TIME,
            "heartbeat_age_s": {"type": "number", "minimum": 0},
            "state": {"enum": list(STATES), "description": "lost: no heartbeat for longer "
                                                          "than lease_s (killed, stalled)"},
            "jobs": {"type": "array", "items": {"type": "string"},
                     "description": "run keys (project/name) of the jobs it holds work of"},
        },
    },
    "WorkerList": {
        "type": "object", "required": ["workers", "lease_s"],
        "properties": {"workers": {"type": "array", "items": ref("Worker")},
                       "lease_s": {"type": "number"}},
    },
}

WORKER_PATHS: dict[str, Any] = {
    "/v1/workers": {"get": {
        "summary": "The ocrpipe up / worker processes on this state database, live and "
                   "lost, with the jobs each holds (admin tokens)",
        "parameters": [query_param("state", {"enum": list(STATES)}, "only this state")],
        "responses": {"200": answer("the workers, oldest first", "WorkerList"),
                      "400": answer("a query parameter out of range"), **AUTH_ERRORS,
                      "403": answer("not an admin token")},
    }},
}
