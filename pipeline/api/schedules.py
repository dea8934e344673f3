"""`/v1/schedules`: schedules through the job API, under the same per-project tokens.

POST a job body with a `schedule` key (and optionally `timezone`, `overlap`, `misfire`) to
make a schedule; GET lists them with the next due time in their zone and the last run's
outcome; PATCH `{"paused": true|false}` pauses or resumes; DELETE removes one made
through the API (one from a job file under `up --jobs DIR` is removed with its file);
POST `/v1/schedules/{name}/run` queues a run now. A project token sees its project's
schedules only; an admin token names the project with `?enterprise_project=` when two
projects have a schedule of one name.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from datetime import UTC, datetime

from aiohttp import web

from pipeline.api.app import BASE_DIR, DATA_ROOT, OPENAPI, WEBHOOK_RULES
from pipeline.api.http import ApiError, read_json, scope_of, token_of
from pipeline.api.schedules_openapi import SCHEDULE_SCHEMAS, schedule_paths
from pipeline.api.submit import Forbidden, job_from_body
from pipeline.errors import ConfigError
from pipeline.schedules.loader import schedule_of
from pipeline.schedules.scheduler import Scheduler
from pipeline.schedules.views import schedule_view, schedule_views
from pipeline.store import ScheduleRecord, ScheduleStore, Store

log = logging.getLogger(__name__)

SCHEDULES = web.AppKey("schedules", ScheduleStore)
STORE = web.AppKey("schedules_store", Store)


def add_schedule_routes(app: web.Application, store: Store) -> None:
    """Add the routes, and their paths and schemas to the OpenAPI document it serves."""
    document = json.loads(app[OPENAPI])
    document["paths"].update(schedule_paths())
    document["components"]["schemas"].update(SCHEDULE_SCHEMAS)
    app[OPENAPI] = json.dumps(document).encode()
    app[SCHEDULES] = ScheduleStore(store)
    app[STORE] = store
    app.router.add_post("/v1/schedules", create_schedule)
    app.router.add_get("/v1/schedules", list_schedules)
    app.router.add_get("/v1/schedules/{name}", show_schedule)
    app.router.add_patch("/v1/schedules/{name}", patch_schedule)
    app.router.add_delete("/v1/schedules/{name}", delete_schedule)
    app.router.add_post("/v1/schedules/{name}/run", run_schedule)


def _now() -> datetime:
    return datetime.now(UTC)


async def _schedule(request: web.Request) -> ScheduleRecord:
    """The schedule named in the path, if the token may see it; else 404."""
    name = request.match_info["name"]
    scope = scope_of(request) or request.query.get("enterprise_project")
    found = [s for s in await request.app[SCHEDULES].list_schedules(scope) if s.name == name]
    if not found:
        raise ApiError(404, "schedule_not_found",
                       f"no schedule {name!r}: GET /v1/schedules lists yours")
    if len(found) > 1:
        raise ApiError(409, "schedule_ambiguous", f"{name!r} is a schedule of several "
                       "enterprise projects: add ?enterprise_project=EP")
    return found[0]


async def _view(request: web.Request, schedule: ScheduleRecord) -> web.Response:
    fires = await request.app[SCHEDULES].fires(schedule.enterprise_project, schedule.name, 1)
    return web.json_response(schedule_view(schedule, fires[0] if fires else None, _now()))


async def create_schedule(request: web.Request) -> web.Response:
    body = await read_json(request)
    try:
        spec = job_from_body(body, token_of(request), base_dir=request.app[BASE_DIR],
                             data_root=request.app.get(DATA_ROOT),
                             webhooks=request.app[WEBHOOK_RULES])
        record = schedule_of(spec, "api", _now())
    except ConfigError as exc:
        raise ApiError(400, "invalid_schedule", str(exc)) from None
    except Forbidden as exc:
        raise ApiError(403, "forbidden", str(exc)) from None
    schedules = request.app[SCHEDULES]
    if await schedules.get(record.enterprise_project, record.name) is not None:
        raise ApiError(409, "schedule_exists", f"a schedule {record.name!r} exists already: "
                       f"DELETE /v1/schedules/{record.name} first, or use another name")
    await schedules.put(record)
    log.info("schedule=%s project=%s made through the API (%s, %s)", record.name,
             record.enterprise_project, record.cron, record.timezone)
    response = await _view(request, record)
    response.set_status(201)
    response.headers["Location"] = f"/v1/schedules/{record.name}"
    return response


async def list_schedules(request: web.Request) -> web.Response:
    scope = scope_of(request)
    wanted = request.query.get("enterprise_project")
    if scope is not None and wanted is not None and wanted != scope:
        return web.json_response({"schedules": []})
    views = await schedule_views(request.app[STORE], _now(), scope or wanted)
    return web.json_response({"schedules": views})


async def show_schedule(request: web.Request) -> web.Response:
    return await _view(request, await _schedule(request))


async def patch_schedule(request: web.Request) -> web.Response:
    schedule = await _schedule(request)
    body = await read_json(request)
    if not isinstance(body, dict) or set(body) != {"paused"} or not isinstance(
            body["paused"], bool):
        raise ApiError(400, "invalid_patch", 'paused: send {"paused": true} to pause or '
                       '{"paused": false} to resume (the only key that can change)')
    await request.app[SCHEDULES].set_paused(schedule.enterprise_project, schedule.name,
                                            body["paused"])
    log.info("schedule=%s project=%s %s through the API", schedule.name,
             schedule.enterprise_project, "paused" if body["paused"] else "resumed")
    changed = await request.app[SCHEDULES].get(schedule.enterprise_project, schedule.name)
    assert changed is not None
    return await _view(request, changed)


async def delete_schedule(request: web.Request) -> web.Response:
    schedule = await _schedule(request)
    if schedule.origin != "api":
        raise ApiError(409, "schedule_from_file", f"{schedule.name!r} comes from a job file "
                       "under `ocrpipe up --jobs`: remove the file, or PATCH "
                       '{"paused": true}')
    await request.app[SCHEDULES].remove(schedule.enterprise_project, schedule.name)
    log.info("schedule=%s project=%s deleted through the API", schedule.name,
             schedule.enterprise_project)
    return web.Response(status=204)


async def run_schedule(request: web.Request) -> web.Response:
    schedule = await _schedule(request)
    owner = f"api:{socket.gethostname()}:{os.getpid()}"
    job_id = await Scheduler(request.app[STORE], owner).run_now(schedule)
    if job_id is None:
        raise ApiError(409, "run_not_queued", "another run was queued at this very moment: "
                       "GET /v1/jobs shows it")
    return web.json_response({"job_id": job_id, "links": {"job": f"/v1/jobs/{job_id}"}},
                             status=202, headers={"Location": f"/v1/jobs/{job_id}"})
