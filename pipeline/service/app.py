"""The aiohttp application: routes, request ids, error answers, one log line per request.

Routes:

    POST /v2/{project_id}/ocr/{api}   general-text, web-image, handwriting,
                                      smart-document-recognizer (general_text.py); Huawei's
                                      other API names answer 403 ModelArts.4204
    POST /v3/auth/tokens              IAM password login -> X-Subject-Token (iam.py)
    GET  /v1/usage                    billed calls per enterprise project/API/day (usage.py)
    GET  /metrics                     Prometheus metrics (metrics.py)
    GET  /health                      {"status": "ok", "requests": N, "recognized": M}

`requests` counts every request but health checks and metrics scrapes, `recognized` the OCR
calls answered 2xx (the calls Huawei would bill, also counted in the usage per enterprise
project, committed to the state database before the answer: if that fails, the call
answers 500 and is not counted); a health check logs at DEBUG level. Any other path or
method answers 404 APIG.0101, as the API gateway does. Every answer carries an `X-Request-Id`.

A recognition call goes: authentication (auth.py) -> rate limit per caller and API (429
APIG.0308) -> body checks -> `url` download (fetch.py) -> the engine's bounded queue (429
ModelArts.4401 when full) -> recognition, within `request_timeout` (504 APIG.0201).

Middlewares, outermost first: the connection guard's (connections.py: header deadline),
`observe` (request id, errors to Huawei bodies, counters, metrics, usage, the log line) then
`auth.auth_middleware` (header checks of guard.py, size- and time-capped body read, auth).

Metrics and logs name the API only when it is a known one ("other" else: made-up paths
cannot create series); logged paths have their control characters escaped (logsafe.py).
A client that disconnects before its body is read is logged at INFO as code 499, never
counted as a 500. An answer sent before the body was read closes the connection.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import math
import re
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.typedefs import Handler

from pipeline.protocol import names
from pipeline.protocol.codes import (
    API_NOT_FOUND,
    BAD_REQUEST,
    BODY_TOO_LARGE,
    GATEWAY_TIMEOUT,
    INTERNAL_ERROR,
    INVALID_PARAMETER,
    NOT_SUBSCRIBED,
    ErrorKind,
    error_body,
)

from . import general_text
from .apierror import ApiError
from .auth import BODY_KEY, USER_KEY, auth_middleware
from .authfile import AuthConfig
from .connections import ConnectionGuard
from .engine import OcrEngine
from .fetch import Fetcher
from .iam import TokenStore, issue_token
from .limits import (
    BODY_TIMEOUT_S,
    HEADER_TIMEOUT_S,
    IDLE_TIMEOUT_S,
    MAX_CONNECTIONS,
    MAX_CONNECTIONS_PER_ADDRESS,
    MAX_SMALL_BODY_BYTES,
    PREAUTH_BUFFER_BYTES,
    BodyBudget,
    ClientGone,
    RateLimiter,
    read_body,
)
from .lockout import address_key
from .logsafe import escape, printable
from .metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from .metrics import Metrics
from .passwords import PasswordChecker
from .statedb import open_state
from .usage import USAGE_PATH, Usage, usage_answer

logger = logging.getLogger("pipeline.service")

HEALTH_PATH = "/health"
METRICS_PATH = "/metrics"
_ENTERPRISE_PROJECT_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_API_PATH_RE = re.compile(r"^/v\d+/[^/]+/ocr/(?P<api>[^/]+)/?$")
OTHER_API = "other"
CLIENT_GONE = "499"
"""The code logged and counted for a client that disconnected before its answer (nginx's)."""


@dataclass
class Counters:
    requests: int = 0
    recognized: int = 0


@dataclass
class ServiceLimits:
    rate_limit_per_minute: int = 0
    """Calls per caller, per API, per minute; 0: no limit."""
    request_timeout: float = 120.0
    """Seconds from the body read to the answer (download and recognition)."""
    allow_private_urls: bool = False
    url_timeout: float = 10.0
    header_timeout: float = HEADER_TIMEOUT_S
    body_timeout: float = BODY_TIMEOUT_S
    idle_timeout: float = IDLE_TIMEOUT_S
    max_connections: int = MAX_CONNECTIONS
    max_connections_per_address: int = MAX_CONNECTIONS_PER_ADDRESS
    preauth_buffer_bytes: int = PREAUTH_BUFFER_BYTES
    public_host: str | None = None
    """The `Host` clients must use (name or name:port); None: any."""


@dataclass
class State:
    """Everything a handler needs beyond the engine."""

    auth: AuthConfig
    limits: ServiceLimits
    tokens: TokenStore
    rates: RateLimiter
    fetcher: Fetcher
    usage: Usage
    passwords: PasswordChecker
    bodies: BodyBudget
    counters: Counters = field(default_factory=Counters)
    metrics: Metrics | None = None


ENGINE = web.AppKey("ocrpipe.engine", OcrEngine)
STATE = web.AppKey("ocrpipe.state", State)
CONNECTIONS = web.AppKey("ocrpipe.connections", ConnectionGuard)
"""The connection guard: serve the app on `GuardedSite(runner, app[CONNECTIONS], ...)`."""
REQUEST_ID = web.RequestKey("ocrpipe.request_id", str)

_dumps = functools.partial(json.dumps, ensure_ascii=False)


def create_app(
    engine: OcrEngine,
    auth: AuthConfig,
    *,
    auth_required: bool = True,
    limits: ServiceLimits | None = None,
    db: sqlite3.Connection | None = None,
) -> web.Application:
    """The service app. The engine and the URL fetcher start and stop with the app.

    `db` keeps the usage counts and tokens (statedb.open_state; the caller closes it); None:
    a fresh in-memory one, closed when the app stops."""
    limits = limits or ServiceLimits()
    own_db = db is None
    db = open_state(None) if db is None else db
    state = State(
        auth=auth,
        limits=limits,
        tokens=TokenStore(auth.token_ttl_hours * 3600.0, db),
        rates=RateLimiter(limits.rate_limit_per_minute),
        fetcher=Fetcher(allow_private=limits.allow_private_urls, timeout=limits.url_timeout),
        usage=Usage(db),
        # an unknown user's check runs as many rounds as the users' hashes
        passwords=PasswordChecker(u.password_hash for u in auth.users.values()),
        bodies=BodyBudget(limits.preauth_buffer_bytes),
    )
    state.metrics = Metrics(lambda: engine.depth)
    public = frozenset({HEALTH_PATH, METRICS_PATH, names.TOKENS_PATH, USAGE_PATH})
    connections = ConnectionGuard(
        limits.max_connections, limits.max_connections_per_address, limits.header_timeout
    )
    app = web.Application(
        middlewares=[
            connections.middleware,
            observe,
            auth_middleware(
                auth,
                state.tokens,
                required=auth_required,
                public_paths=public,
                public_host=limits.public_host,
                budget=state.bodies,
                body_timeout=limits.body_timeout,
                hostless_paths=frozenset({HEALTH_PATH, METRICS_PATH}),
            ),
        ]
    )
    app[ENGINE] = engine
    app[STATE] = state
    app[CONNECTIONS] = connections
    app.cleanup_ctx.append(_lifetime)
    if own_db:
        app.on_cleanup.append(functools.partial(_close_db, db))
    app.router.add_post("/v2/{project_id}/ocr/{api}", recognize)
    app.router.add_post(names.TOKENS_PATH, tokens)
    app.router.add_get(USAGE_PATH, usage)
    app.router.add_get(METRICS_PATH, metrics)
    app.router.add_get(HEALTH_PATH, health)
    return app


async def _lifetime(app: web.Application) -> AsyncIterator[None]:
    engine, fetcher = app[ENGINE], app[STATE].fetcher
    await engine.start()
    await fetcher.start()
    yield
    await fetcher.close()
    await engine.close()
    app[STATE].passwords.close()


async def _close_db(db: sqlite3.Connection, app: web.Application) -> None:
    db.close()


async def recognize(request: web.Request) -> web.Response:
    api = request.match_info["api"]
    if api not in general_text.TEXT_APIS:
        if api in general_text.KNOWN_APIS:
            raise ApiError(
                NOT_SUBSCRIBED,
                f"The API {api} is not subscribed: this service serves "
                f"{', '.join(general_text.TEXT_APIS)}",
            )
        raise web.HTTPNotFound()
    state = request.app[STATE]
    state.rates.check(request[USER_KEY], api)
    parsed = general_text.parse_body(request[BODY_KEY], api)
    try:
        async with asyncio.timeout(state.limits.request_timeout):
            # The queue place first: nothing is downloaded for a page it would refuse.
            async with request.app[ENGINE].reserve() as slot:
                image: str | bytes = parsed.image_b64
                if parsed.url:
                    image = await state.fetcher.fetch(parsed.url)
                page = await slot.recognize(image, parsed.options)
    except TimeoutError:
        raise ApiError(
            GATEWAY_TIMEOUT,
            f"Backend timeout: no result within {state.limits.request_timeout:g} s; "
            "retry later",
        ) from None
    if state.metrics is not None:
        state.metrics.engine_seconds[api] += page.seconds
    return web.json_response(general_text.response_body(page, parsed), dumps=_dumps)


async def tokens(request: web.Request) -> web.Response:
    state = request.app[STATE]
    owner = address_key(request.remote or "")
    body = await read_body(
        request, MAX_SMALL_BODY_BYTES, seconds=state.limits.body_timeout, budget=state.bodies,
        owner=owner,
    )
    try:
        return await issue_token(
            request, state.auth, state.tokens, passwords=state.passwords, body=body
        )
    finally:
        state.bodies.give_back(len(body), owner)


async def usage(request: web.Request) -> web.Response:
    state = request.app[STATE]
    answer = await usage_answer(
        request, state.usage, state.auth.admin_key_hash, state.passwords
    )
    return web.json_response(answer)


async def metrics(request: web.Request) -> web.Response:
    state = request.app[STATE]
    text = state.metrics.render() if state.metrics is not None else ""
    return web.Response(text=text, headers={"Content-Type": METRICS_CONTENT_TYPE})


async def health(request: web.Request) -> web.Response:
    counters = request.app[STATE].counters
    return web.json_response(
        {"status": "ok", "requests": counters.requests, "recognized": counters.recognized}
    )


def enterprise_project(request: web.BaseRequest) -> str:
    """The Enterprise-Project-Id the call is attributed to; `default` if absent or malformed."""
    value = request.headers.get(names.ENTERPRISE_PROJECT, "").strip()
    return value if _ENTERPRISE_PROJECT_RE.match(value) else names.DEFAULT_ENTERPRISE_PROJECT


def api_name(path: str) -> str:
    """The API a path calls, for logs and metrics: a known name, else "other" (so that
    made-up paths cannot create metric series)."""
    if path in (HEALTH_PATH, METRICS_PATH):
        return path.strip("/")
    if path == names.TOKENS_PATH:
        return "iam-tokens"
    if path == USAGE_PATH:
        return "usage"
    match = _API_PATH_RE.match(path)
    known = (*general_text.TEXT_APIS, *general_text.KNOWN_APIS)
    if match and match["api"] in known:
        return match["api"]
    return OTHER_API


@web.middleware
async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id = uuid.uuid4().hex
    request[REQUEST_ID] = request_id
    started = time.perf_counter()
    code = "-"
    try:
        response = await handler(request)
        code = str(response.status)
    except ApiError as exc:
        code = exc.kind.code
        response = _error_response(exc.kind, exc.message, request_id)
        if exc.retry_after is not None:
            response.headers["Retry-After"] = str(math.ceil(exc.retry_after))
    except ClientGone:
        code = CLIENT_GONE
        response = _error_response(BAD_REQUEST, "The client closed the connection", request_id)
    except web.HTTPException as exc:
        kind, message = _from_http_exception(exc)
        code = kind.code
        response = _error_response(kind, message, request_id)
    except Exception:
        logger.exception("unexpected error, request_id=%s", request_id)
        code = INTERNAL_ERROR.code
        response = _error_response(INTERNAL_ERROR, "Internal server error", request_id)

    api = api_name(request.path)
    state = request.app[STATE]
    if api in general_text.TEXT_APIS and 200 <= response.status < 300:
        try:  # committed before the answer is sent
            state.usage.record(enterprise_project(request), api)
        except sqlite3.Error:
            logger.exception("cannot count the call in the usage, request_id=%s", request_id)
            code = INTERNAL_ERROR.code
            response = _error_response(
                INTERNAL_ERROR, "Internal server error: the call was not counted; retry",
                request_id,
            )
        else:
            state.counters.recognized += 1
    response.headers[names.REQUEST_ID] = request_id
    if request.body_exists and not request.content.is_eof():
        response.force_close()  # answered before the body was read: do not wait for it
    elapsed = time.perf_counter() - started
    quiet = api in ("health", "metrics")
    if not quiet:
        state.counters.requests += 1
        if state.metrics is not None:
            state.metrics.observe(api, code, elapsed)
    logger.log(
        logging.DEBUG if quiet else logging.INFO,
        "%s %s api=%s status=%d error_code=%s ms=%.1f request_id=%s enterprise_project=%s",
        escape(request.method, 32),
        escape(request.path),
        api,
        response.status,
        code,
        elapsed * 1000,
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
        error_body(kind, printable(message), request_id), status=kind.status, dumps=_dumps
    )
