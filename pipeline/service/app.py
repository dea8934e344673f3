"""The aiohttp application: routes, request ids, error answers, one log line per request.

Routes:

    POST /v2/{project_id}/ocr/general-text   recognise one image or PDF page (general_text.py)
    GET  /health                             {"status": "ok", "requests": N, "recognized": M}

`requests` counts every request but the health checks, `recognized` the OCR calls answered
2xx (the calls Huawei would bill); a health check logs at DEBUG level. Any other path or
method answers 404 APIG.0101, as the API gateway does. Every answer carries an
`X-Request-Id` (32 hex characters).

Middlewares, outermost first: `observe` (request id, errors to Huawei bodies, counters, the
log line) then `auth.auth_middleware` (size-capped body read, AK/SK check).
"""

from __future__ import annotations

import functools
import json
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Handler

from . import general_text
from .auth import BODY_KEY, auth_middleware
from .engine import OcrEngine
from .errors import (
    API_NOT_FOUND,
    BODY_TOO_LARGE,
    INTERNAL_ERROR,
    INVALID_PARAMETER,
    ApiError,
    ErrorKind,
    error_body,
)

logger = logging.getLogger("pipeline.service")

HEALTH_PATH = "/health"
REQUEST_ID_HEADER = "X-Request-Id"
ENTERPRISE_PROJECT_HEADER = "Enterprise-Project-Id"
DEFAULT_ENTERPRISE_PROJECT = "default"
_ENTERPRISE_PROJECT_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_API_PATH_RE = re.compile(r"^/v\d+/[^/]+/ocr/(?P<api>[^/]+)/?$")


@dataclass
class Counters:
    requests: int = 0
    recognized: int = 0


ENGINE = web.AppKey("ocrpipe.engine", OcrEngine)
COUNTERS = web.AppKey("ocrpipe.counters", Counters)
REQUEST_ID = web.RequestKey("ocrpipe.request_id", str)

_dumps = functools.partial(json.dumps, ensure_ascii=False)


def create_app(
    engine: OcrEngine, credentials: Mapping[str, str], *, auth_required: bool = True
) -> web.Application:
    """The service app. The engine is started and closed with the app (cleanup_ctx)."""
    app = web.Application(
        middlewares=[
            observe,
            auth_middleware(
                credentials, required=auth_required, public_paths=frozenset({HEALTH_PATH})
            ),
        ]
    )
    app[ENGINE] = engine
    app[COUNTERS] = Counters()
    app.cleanup_ctx.append(_engine_lifetime)
    app.router.add_post(f"/v2/{{project_id}}/ocr/{general_text.API_NAME}", recognize_general_text)
    app.router.add_get(HEALTH_PATH, health)
    return app


async def _engine_lifetime(app: web.Application) -> AsyncIterator[None]:
    engine = app[ENGINE]
    await engine.start()
    yield
    await engine.close()


async def recognize_general_text(request: web.Request) -> web.Response:
    parsed = general_text.parse_body(request[BODY_KEY])
    page = await request.app[ENGINE].recognize(parsed.image_b64, parsed.options)
    return web.json_response(general_text.response_body(page), dumps=_dumps)


async def health(request: web.Request) -> web.Response:
    counters = request.app[COUNTERS]
    return web.json_response(
        {"status": "ok", "requests": counters.requests, "recognized": counters.recognized}
    )


def enterprise_project(request: web.BaseRequest) -> str:
    """The Enterprise-Project-Id the call is attributed to; `default` if absent or malformed."""
    value = request.headers.get(ENTERPRISE_PROJECT_HEADER, "").strip()
    return value if _ENTERPRISE_PROJECT_RE.match(value) else DEFAULT_ENTERPRISE_PROJECT


def api_name(path: str) -> str:
    if path == HEALTH_PATH:
        return "health"
    match = _API_PATH_RE.match(path)
    return match["api"] if match else "-"


@web.middleware
async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id = uuid.uuid4().hex
    request[REQUEST_ID] = request_id
    started = time.perf_counter()
    code = "-"
    try:
        response = await handler(request)
    except ApiError as exc:
        code = exc.kind.code
        response = _error_response(exc.kind, exc.message, request_id)
    except web.HTTPException as exc:
        kind, message = _from_http_exception(exc)
        code = kind.code
        response = _error_response(kind, message, request_id)
    except Exception:
        logger.exception("unexpected error, request_id=%s", request_id)
        code = INTERNAL_ERROR.code
        response = _error_response(INTERNAL_ERROR, "Internal server error", request_id)
    response.headers[REQUEST_ID_HEADER] = request_id

    api = api_name(request.path)
    counters = request.app[COUNTERS]
    if api != "health":
        counters.requests += 1
        if api == general_text.API_NAME and 200 <= response.status < 300:
            counters.recognized += 1
    logger.log(
        logging.DEBUG if api == "health" else logging.INFO,
        "%s %s api=%s status=%d error_code=%s ms=%.1f request_id=%s enterprise_project=%s",
        request.method,
        request.path,
        api,
        response.status,
        code,
        (time.perf_counter() - started) * 1000,
        request_id,
        enterprise_project(request),
    )
    return response


def _from_http_exception(exc: web.HTTPException) -> tuple[ErrorKind, str]:
    if exc.status in (404, 405):
        return API_NOT_FOUND, "API not found: check the path, the API name and the method"
    if exc.status == 413:
        return BODY_TOO_LARGE, "Request entity too large"
    if exc.status < 500:
        return ErrorKind(INVALID_PARAMETER.code, exc.status), exc.reason
    return ErrorKind(INTERNAL_ERROR.code, exc.status), exc.reason


def _error_response(kind: ErrorKind, message: str, request_id: str) -> web.Response:
    return web.json_response(
        error_body(kind, message, request_id), status=kind.status, dumps=_dumps
    )
