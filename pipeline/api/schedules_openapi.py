"""The OpenAPI paths and schemas of `/v1/schedules` (pipeline.api.schedules), merged into
the job API's document by `pipeline.api.openapi`."""

from __future__ import annotations

from typing import Any

from pipeline.api.openapi import AUTH_ERRORS, answer, nullable, query_param, ref

_TEXT = {"type": "string"}
_COUNT = nullable({"type": "integer", "minimum": 0})

SCHEDULE_SCHEMAS: dict[str, Any] = {
    "Schedule": {
        "type": "object",
        "required": ["name", "enterprise_project", "schedule", "timezone", "overlap",
                     "misfire", "paused", "origin", "next_due", "last_run", "job", "links"],
        "properties": {
            "name": _TEXT,
            "enterprise_project": _TEXT,
            "schedule": {**_TEXT, "description": "the cron line (five fields or @daily ...)"},
            "timezone": {**_TEXT, "description": "IANA zone of the cron line"},
            "overlap": {"enum": ["skip", "queue"]},
            "misfire": {"enum": ["run_once", "skip"]},
            "paused": {"type": "boolean"},
            "origin": {"enum": ["api", "file"]},
            "next_due": {**nullable({"type": "string", "format": "date-time"}),
                         "description": "in the schedule's zone; null while paused"},
            "last_run": nullable(ref("ScheduleRun")),
            "job": {"type": "object", "description": "the job each due time queues"},
            "links": {"type": "object", "additionalProperties": _TEXT},
        },
    },
    "ScheduleRun": {
        "type": "object",
        "required": ["due_at", "outcome", "detail", "job_id", "job_status", "error",
                     "documents_done", "documents_unchanged", "documents_failed"],
        "properties": {
            "due_at": {"type": "string", "format": "date-time"},
            "outcome": {"enum": ["queued", "skipped", "missed", "run_now"],
                        "description": "skipped: the last run still ran (overlap = skip); "
                                       "missed: no scheduler ran then (misfire = skip)"},
            "detail": nullable(_TEXT),
            "job_id": nullable(_TEXT),
            "job_status": nullable({"enum": ["queued", "running", "cancelling", "done",
                                              "failed", "cancelled"]}),
            "error": nullable(_TEXT),
            "documents_done": _COUNT,
            "documents_unchanged": {**_COUNT, "description": "not sent again: unchanged "
                                                             "since an earlier run"},
            "documents_failed": _COUNT,
        },
    },
    "ScheduleList": {
        "type": "object", "required": ["schedules"],
        "properties": {"schedules": {"type": "array", "items": ref("Schedule")}},
    },
    "SchedulePatch": {
        "type": "object", "required": ["paused"], "additionalProperties": False,
        "properties": {"paused": {"type": "boolean"}},
    },
    "ScheduleRunQueued": {
        "type": "object", "required": ["job_id", "links"],
        "properties": {"job_id": _TEXT, "links": {"type": "object",
                                                  "additionalProperties": _TEXT}},
    },
}

_NAME = {"name": "name", "in": "path", "required": True, "schema": _TEXT}
_PROJECT = query_param("enterprise_project", _TEXT,
                  "admin tokens: the project, when two have a schedule of this name")
_ONE = {**AUTH_ERRORS, "404": answer("no such schedule (or another project's)"),
        "409": answer("a schedule of several projects: add ?enterprise_project=EP")}


def schedule_paths() -> dict[str, Any]:
    return {
        "/v1/schedules": {
            "post": {
                "summary": "Make a schedule: a job body with a `schedule` key (and "
                           "`timezone`, `overlap`, `misfire`)",
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": ref("JobBody")}}},
                "responses": {
                    "201": {**answer("made", "Schedule"),
                            "headers": {"Location": {"schema": _TEXT}}},
                    "400": answer("malformed JSON, no `schedule`, or a bad key (named)"),
                    **AUTH_ERRORS,
                    "403": answer("another enterprise project than the token's, or a local "
                                   "folder outside `up --data-root`"),
                    "409": answer("a schedule of this name exists"),
                    "413": answer("the body is larger than 1 MiB"),
                },
            },
            "get": {
                "summary": "List schedules: next due time (in their zone), last run's outcome",
                "parameters": [query_param("enterprise_project", _TEXT, "only this project")],
                "responses": {"200": answer("the schedules", "ScheduleList"),
                              **AUTH_ERRORS},
            },
        },
        "/v1/schedules/{name}": {
            "get": {"summary": "A schedule", "parameters": [_NAME, _PROJECT],
                    "responses": {"200": answer("the schedule", "Schedule"), **_ONE}},
            "patch": {
                "summary": "Pause or resume (a resumed schedule counts due times from now)",
                "parameters": [_NAME, _PROJECT],
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": ref("SchedulePatch")}}},
                "responses": {"200": answer("changed", "Schedule"),
                              "400": answer("malformed JSON, or not {\"paused\": bool}"),
                              "413": answer("the body is larger than 1 MiB"), **_ONE},
            },
            "delete": {
                "summary": "Remove a schedule made through the API (its jobs stay)",
                "parameters": [_NAME, _PROJECT],
                "responses": {"204": {"description": "removed"}, **_ONE,
                              "409": answer("from a job file (remove the file), or a "
                                             "schedule of several projects")},
            },
        },
        "/v1/schedules/{name}/run": {"post": {
            "summary": "Queue a run now, outside the cron line",
            "parameters": [_NAME, _PROJECT],
            "responses": {"202": {**answer("queued", "ScheduleRunQueued"),
                                  "headers": {"Location": {"schema": _TEXT}}}, **_ONE},
        }},
    }
