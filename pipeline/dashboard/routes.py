"""The dashboard of `ocrpipe up`: `GET /` serves a page (package data in
`pipeline/dashboard/static/`, no CDN) that polls the job API with the token the user types in,
and two JSON endpoints it draws from, under the same tokens as the rest of `/v1`:

- `GET /v1/usage?days=N`: ledger calls per enterprise project and UTC day (billed, failed,
  outcome unknown, saved), the last N days (default 30);
- `GET /v1/billing`: the billing file's packages (remaining quota, expiry, state),
  pay-per-use cost and the alerts raised, as `ocrpipe billing status` computes them, read
  only (raising and posting alerts stays with runs and the CLI).

A project token sees its project's rows only: packages bound to it or to every project,
and the alerts about those packages or the project. The static files need no token; the
page keeps the token in sessionStorage and sends it as `Authorization: Bearer`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from importlib import resources
from typing import Any

from aiohttp import web
from sqlalchemy import func, select

from pipeline.api.app import OPENAPI
from pipeline.api.http import ApiError, int_param, scope_of
from pipeline.api.openapi import AUTH_ERRORS, answer, query_param
from pipeline.billing.calls import load_calls
from pipeline.billing.config import billing_path, load_billing
from pipeline.billing.status import billing_status
from pipeline.errors import ConfigError
from pipeline.store import Store
from pipeline.store.schema import usage as usage_table

STATIC = {"index.html": "text/html", "dashboard.js": "text/javascript",
          "dashboard.css": "text/css", "vendor/uPlot.iife.js": "text/javascript",
          "vendor/uPlot.min.css": "text/css"}
"""The dashboard's files, served at `/` (index.html) and `/static/NAME`."""
PUBLIC_PREFIX = "/static/"
STORE = web.AppKey("dashboard_store", Store)
OUTCOMES = ("billed", "failed", "unknown", "saved")


def add_dashboard_routes(app: web.Application, store: Store) -> None:
    """Add `/`, `/static/*`, `/v1/usage` and `/v1/billing` to the job API app
    (`pipeline.api.create_app`), and the two JSON endpoints' paths and schemas to the
    OpenAPI document it serves. Outside `pipeline.api`: billing imports the webhooks,
    which import the API's views."""
    document = json.loads(app[OPENAPI])
    document["paths"].update(DASHBOARD_PATHS)
    document["components"]["schemas"].update(DASHBOARD_SCHEMAS)
    app[OPENAPI] = json.dumps(document).encode()
    app[STORE] = store
    app.router.add_get("/", index)
    app.router.add_get(PUBLIC_PREFIX + "{name:.+}", static_file)
    app.router.add_get("/v1/usage", usage)
    app.router.add_get("/v1/billing", billing)


def _read_static(name: str) -> bytes:
    return resources.files("pipeline.dashboard").joinpath("static", *name.split("/")).read_bytes()


async def index(request: web.Request) -> web.Response:
    return web.Response(body=_read_static("index.html"), content_type="text/html",
                        charset="utf-8", headers={"Cache-Control": "no-cache"})


async def static_file(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in STATIC:
        raise ApiError(404, "not_found", f"no dashboard file {name!r}: open / instead")
    return web.Response(body=_read_static(name), content_type=STATIC[name], charset="utf-8",
                        headers={"Cache-Control": "no-cache"})


async def usage(request: web.Request) -> web.Response:
    days = int_param(request, "days", 30, 1, 366) or 30
    scope = scope_of(request)
    first = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=days - 1)
    query = (select(usage_table.c.enterprise_project, usage_table.c.day,
                    usage_table.c.outcome, func.count())
             .where(usage_table.c.day >= first.isoformat())
             .group_by(usage_table.c.enterprise_project, usage_table.c.day,
                       usage_table.c.outcome))
    if scope is not None:
        query = query.where(usage_table.c.enterprise_project == scope)
    async with request.app[STORE].engine.connect() as conn:
        found = (await conn.execute(query)).all()
    counts: Counter[tuple[str, str, str]] = Counter()
    for project, day, outcome, n in found:  # the ledger's day: the UTC date of the call
        counts[(project, day, "unknown" if outcome == "pending" else outcome)] += n
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for (project, date, outcome), n in counts.items():
        row = rows.setdefault((project, date), {"enterprise_project": project, "day": date,
                                               **dict.fromkeys(OUTCOMES, 0)})
        if outcome in OUTCOMES:
            row[outcome] += n
    return web.json_response({"since": first.isoformat(),
                              "rows": [rows[k] for k in sorted(rows)]})


async def billing(request: web.Request) -> web.Response:
    store = request.app[STORE]
    try:
        path = billing_path(store.engine.url.render_as_string(hide_password=True))
    except ConfigError as exc:
        return web.json_response({"configured": False, "message": str(exc)})
    if not path.is_file():
        return web.json_response({"configured": False, "message": f"no billing file at {path}: "
                                  "write one (see jobs/billing.example.toml)"})
    try:
        books = load_billing(path)
    except ConfigError as exc:
        raise ApiError(503, "billing_invalid", str(exc)) from None
    status = billing_status(books, await load_calls(store), dt.datetime.now(dt.UTC))
    scope = scope_of(request)
    if scope is not None:
        status = _for_project(status, scope)
    return web.json_response({"configured": True, "currency": status["currency"],
                              "packages": status["packages"],
                              "pay_per_use": status["pay_per_use"],
                              "alerts": status["alerts"]})


def _for_project(status: dict[str, Any], project: str) -> dict[str, Any]:
    packages = [p for p in status["packages"] if p["enterprise_project"] in (None, project)]
    subjects = {p["id"] for p in packages} | {project}
    return {**status, "packages": packages,
            "pay_per_use": [r for r in status["pay_per_use"]
                            if r["enterprise_project"] == project],
            "alerts": [a for a in status["alerts"] if a["subject"] in subjects]}


_STR = {"type": "string"}
_INT = {"type": "integer", "minimum": 0}
_NUM = {"type": "number"}
_OPT_STR = {"anyOf": [_STR, {"type": "null"}]}

DASHBOARD_SCHEMAS: dict[str, Any] = {
    "Usage": {
        "type": "object", "required": ["since", "rows"],
        "properties": {
            "since": {"type": "string", "format": "date"},
            "rows": {"type": "array", "items": {
                "type": "object",
                "required": ["enterprise_project", "day", *OUTCOMES],
                "properties": {"enterprise_project": _STR,
                               "day": {"type": "string", "format": "date"},
                               **{o: _INT for o in OUTCOMES}}}},
        },
    },
    "Billing": {
        "type": "object", "required": ["configured"],
        "properties": {
            "configured": {"type": "boolean"},
            "message": _STR,
            "currency": _STR,
            "packages": {"type": "array", "items": {
                "type": "object",
                "required": ["id", "api", "calls", "used", "remaining", "state", "expires"],
                "properties": {"id": _STR, "api": _STR, "region": _OPT_STR,
                               "enterprise_project": _OPT_STR, "calls": _INT, "used": _INT,
                               "remaining": {"type": "integer"}, "state": _STR,
                               "effective": _STR, "expires": _STR,
                               "next_renewal": _OPT_STR}}},
            "pay_per_use": {"type": "array", "items": {
                "type": "object", "required": ["enterprise_project", "month", "calls", "cost"],
                "properties": {"enterprise_project": _STR, "api": _STR, "region": _OPT_STR,
                               "month": _STR, "calls": _INT, "cost": _NUM,
                               "unpriced_calls": _INT}}},
            "alerts": {"type": "array", "items": {
                "type": "object", "required": ["kind", "subject", "at"],
                "properties": {"kind": _STR, "subject": _STR, "at": _STR,
                               "threshold": {"anyOf": [_NUM, {"type": "null"}]}}}},
        },
    },
}

DASHBOARD_PATHS: dict[str, Any] = {
    "/v1/usage": {"get": {
        "summary": "Ledger calls per enterprise project and UTC day (the dashboard's chart)",
        "parameters": [query_param("days", {"type": "integer", "minimum": 1, "maximum": 366},
                              "how many days back, today included (default 30)")],
        "responses": {"200": answer("calls per project and day", "Usage"),
                      "400": answer("days is not a whole number from 1 to 366"),
                      **AUTH_ERRORS},
    }},
    "/v1/billing": {"get": {
        "summary": "Packages (remaining quota, expiry, state), pay-per-use cost, alerts",
        "responses": {"200": answer("the billing status (configured: false without a "
                                     "billing file)", "Billing"),
                      **AUTH_ERRORS,
                      "503": answer("the billing file has errors (named), or the state "
                                     "database cannot be used now")},
    }},
}
