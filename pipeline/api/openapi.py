"""The OpenAPI 3.1 document of the job API, served at `GET /v1/openapi.json`.

The job body's schema is the job-file schema itself (`JobSpec`, by pydantic), so the API
and job files cannot drift; the test suite runs schemathesis against this document.
"""

from __future__ import annotations

from typing import Any

from pipeline import __version__
from pipeline.config import JobSpec

REF = "#/components/schemas/{model}"


def ref(name: str) -> dict[str, str]:
    return {"$ref": REF.format(model=name)}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def _job_body_schemas() -> dict[str, Any]:
    schema = JobSpec.model_json_schema(ref_template=REF)
    defs: dict[str, Any] = schema.pop("$defs", {})
    schema["properties"].pop("base_dir", None)
    # credentials never travel in a job body (the API answers 400)
    defs["SourceSpec"]["properties"].pop("pdf_password", None)
    schema["title"] = "JobBody"
    schema["description"] = "A job: the keys of a job file (README, 'Job files'), as JSON."
    return {"JobBody": schema, **defs}


_TIME = nullable({"type": "string", "format": "date-time"})
_COUNT = {"type": "integer", "minimum": 0}

_SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object", "required": ["code", "message"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
    },
    "Health": {
        "type": "object", "required": ["status", "version"],
        "properties": {"status": {"const": "ok"}, "version": {"type": "string"}},
    },
    "Job": {
        "type": "object",
        "required": ["id", "name", "enterprise_project", "status", "priority", "submitted_at",
                     "started_at", "finished_at", "runs", "scope", "exit_code", "error",
                     "outputs",
                     "job", "links"],
        "properties": {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "enterprise_project": {"type": "string"},
            "status": {"enum": ["queued", "running", "cancelling", "done", "failed",
                                "cancelled"]},
            "priority": {"type": "integer"},
            "submitted_at": {"type": "string", "format": "date-time"},
            "started_at": _TIME,
            "finished_at": _TIME,
            "runs": {**_COUNT, "description": "how many times a worker took the job"},
            "scope": {"enum": ["all", "failed"],
                      "description": "what the next or current run takes: every listed "
                                     "document, or (after a retry of a done job) only the "
                                     "documents that failed"},
            "exit_code": nullable({"type": "integer"}),
            "error": nullable({"type": "string"}),
            "outputs": {"type": "string", "description": "where the outputs are written"},
            "job": {"type": "object", "description": "the job as stored and run"},
            "links": {"type": "object", "additionalProperties": {"type": "string"}},
            "documents": {
                "type": "object", "required": ["total", "done", "failed", "pending", "skipped",
                                               "listed"],
                "properties": {
                    **{k: _COUNT for k in ("total", "done", "failed", "pending")},
                    "listed": {**nullable(_COUNT),
                               "description": "the documents the latest run lists, counted "
                                              "ahead of it (null until counted)"},
                    "skipped": {**nullable(_COUNT),
                                "description": "unchanged since an earlier run, in the latest "
                                               "run (null until a run has ended)"},
                },
            },
            "pages": {"type": "object", "required": ["done", "per_second", "left",
                                                      "eta_seconds"], "properties": {
                "done": _COUNT,
                "per_second": {**nullable({"type": "number", "minimum": 0}),
                               "description": "pages/s of the latest run"},
                "left": {**_COUNT, "description": "pages not done yet of the documents "
                                                  "opened, plus the documents listed but not "
                                                  "opened yet at the average pages per "
                                                  "document so far (an estimate)"},
                "eta_seconds": {**nullable({"type": "number", "minimum": 0}),
                                "description": "while running: `left` at `per_second`; null "
                                               "when no rate is measured yet or the job "
                                               "does not run"},
            }},
            "notify": {
                "type": "object", "required": ["webhook", "deliveries"],
                "description": "[notify] webhook: one delivery per ending, every attempt",
                "properties": {
                    "webhook": {"type": "string"},
                    "deliveries": {"type": "array", "items": {
                        "type": "object", "required": ["url", "state", "attempts"],
                        "properties": {
                            "url": {"type": "string"},
                            "state": {"enum": ["pending", "delivered", "gave_up"]},
                            "next_attempt_at": _TIME,
                            "attempts": {"type": "array", "items": {
                                "type": "object", "required": ["at", "http_status", "error"],
                                "properties": {"at": {"type": "string"},
                                               "http_status": nullable({"type": "integer"}),
                                               "error": nullable({"type": "string"})},
                            }},
                        },
                    }},
                },
            },
            "calls": {
                "type": "object", "required": ["billed", "failed", "unknown", "in_flight"],
                "properties": {k: _COUNT for k in ("billed", "failed", "unknown", "in_flight",
                                                   "saved")},
                "description": "OCR attempts in the ledger; unknown: sent, no answer (may "
                               "be billed); saved: pages that needed no call",
            },
        },
    },
    "JobList": {
        "type": "object", "required": ["jobs", "next_cursor"],
        "properties": {"jobs": {"type": "array", "items": ref("Job")},
                       "next_cursor": nullable({"type": "string"})},
    },
    "Document": {
        "type": "object",
        "required": ["id", "key", "status", "pages", "error", "outputs", "updated_at"],
        "properties": {
            "id": {"type": "integer"}, "key": {"type": "string"},
            "status": {"enum": ["pending", "done", "failed"]},
            "pages": nullable(_COUNT), "error": nullable({"type": "string"}),
            "outputs": {"type": "array", "items": {"type": "string"}},
            "updated_at": {"type": "string", "format": "date-time"},
        },
    },
    "DocumentList": {
        "type": "object", "required": ["documents", "next_cursor"],
        "properties": {"documents": {"type": "array", "items": ref("Document")},
                       "next_cursor": nullable({"type": "string"})},
    },
}


def answer(description: str, schema: str = "Error") -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": ref(schema)}}}


AUTH_ERRORS = {"401": answer("no token, or an unknown or revoked one"),
                "503": answer("the state database cannot be used now (locked, disk full)")}
_JOB_ERRORS = {**AUTH_ERRORS, "404": answer("no such job (or another project's)")}
_JOB_ID = {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}


def query_param(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}


_CURSOR = query_param("cursor", {"type": "string", "pattern": "^[0-9]+$"},
                 "next_cursor of the previous page")


def openapi_document() -> dict[str, Any]:
    bad_param = {"400": answer("a query parameter out of range")}
    paths = {
        "/v1/health": {"get": {
            "summary": "Is the server up", "security": [],
            "responses": {"200": answer("up", "Health")},
        }},
        "/v1/openapi.json": {"get": {
            "summary": "This document", "security": [],
            "responses": {"200": {"description": "OpenAPI 3.1",
                                  "content": {"application/json": {"schema": {
                                      "type": "object"}}}}},
        }},
        "/metrics": {"get": {
            "summary": "Prometheus metrics: jobs by status, queue depth, OCR calls by "
                       "project and outcome, pages (admin tokens)",
            "responses": {"200": {"description": "text format 0.0.4", "content": {
                "text/plain": {"schema": {"type": "string"}}}},
                **AUTH_ERRORS, "403": answer("not an admin token")},
        }},
        "/v1/jobs": {
            "post": {
                "summary": "Submit a job",
                "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False,
                                "schema": {"type": "string", "minLength": 1, "maxLength": 200},
                                "description": "a retried submit with the same key returns "
                                               "the first job"}],
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": ref("JobBody")}}},
                "responses": {
                    "201": {**answer("queued", "Job"),
                            "headers": {"Location": {"schema": {"type": "string"}}}},
                    "200": {**answer("the job this Idempotency-Key made first", "Job"),
                            "headers": {"Location": {"schema": {"type": "string"}}}},
                    "400": answer("malformed JSON, or a bad key (the message names it)"),
                    **AUTH_ERRORS,
                    "403": answer("the job names another enterprise project than the "
                                   "token's, or a local folder outside `up --data-root`"),
                    "409": answer("the Idempotency-Key was used for another job"),
                    "413": answer("the body is larger than 1 MiB"),
                },
            },
            "get": {
                "summary": "List jobs, newest first",
                "parameters": [
                    query_param("status", {"enum": ["queued", "running", "cancelling", "done",
                                               "failed", "cancelled"]}, "only this status"),
                    query_param("enterprise_project", {"type": "string"}, "only this project"),
                    _CURSOR,
                    query_param("limit", {"type": "integer", "minimum": 1, "maximum": 200},
                           "jobs per page (default 50)"),
                ],
                "responses": {"200": answer("a page of jobs", "JobList"), **bad_param,
                              **AUTH_ERRORS},
            },
        },
        "/v1/jobs/{job_id}": {"get": {
            "summary": "A job: status, counts, calls, timestamps, outputs",
            "parameters": [_JOB_ID],
            "responses": {"200": answer("the job", "Job"), **_JOB_ERRORS},
        }},
        "/v1/jobs/{job_id}/documents": {"get": {
            "summary": "A job's documents with their state and error",
            "parameters": [
                _JOB_ID,
                query_param("status", {"enum": ["pending", "done", "failed"]}, "only this state"),
                _CURSOR,
                query_param("limit", {"type": "integer", "minimum": 1, "maximum": 500},
                       "documents per page (default 100)"),
            ],
            "responses": {"200": answer("a page of documents", "DocumentList"), **bad_param,
                          **_JOB_ERRORS},
        }},
        "/v1/jobs/{job_id}/cancel": {"post": {
            "summary": "Cancel: a queued job at once; a running one stops taking pages, the "
                       "calls in flight finish",
            "parameters": [_JOB_ID],
            "responses": {"200": answer("cancelled or cancelling", "Job"), **_JOB_ERRORS,
                          "409": answer("the job has ended already")},
        }},
        "/v1/jobs/{job_id}/retry": {"post": {
            "summary": "Queue an ended job again: a done job for a run of its failed "
                       "documents only (scope: failed); a failed or cancelled one for a whole "
                       "run, which resumes (finished pages are not sent again)",
            "parameters": [_JOB_ID],
            "responses": {"200": answer("queued again", "Job"), **_JOB_ERRORS,
                          "409": answer("the job has not ended yet, or it is done with no "
                                         "failed document")},
        }},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "ocrpipe job API", "version": __version__,
                 "description": "Jobs on demand: submit, watch, cancel, retry. Every call "
                                "but /v1/health and /v1/openapi.json needs "
                                "`Authorization: Bearer TOKEN` (`ocrpipe token create`)."},
        "paths": paths,
        "components": {
            "schemas": {**_SCHEMAS, **_job_body_schemas()},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }
