"""What every handler of the job API shares: its error type and JSON problem answers, the
caller's token and project scope, query parameters and JSON bodies read with limits.

Public so that the API's other route modules (`schedules.py`, `workers.py`) and the
dashboard's routes use them without reaching into `app.py`.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from pipeline.store import TokenInfo

MAX_BODY = 1024 * 1024
"""A job is a few kB of JSON; a body above 1 MiB answers 413 before it is read whole."""

TOKEN_KEY: Any = (  # aiohttp >= 3.14 warns on plain string keys, older ones lack RequestKey
    web.RequestKey("token", TokenInfo) if hasattr(web, "RequestKey") else "ocrpipe.token"
)

class ApiError(Exception):
    """An answer other than 2xx: status, a stable code, a message that says what to fix."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def problem(status: int, code: str, message: str, **headers: str) -> web.Response:
    return web.json_response({"code": code, "message": message}, status=status, headers=headers)


def token_of(request: web.Request) -> TokenInfo:
    info: TokenInfo = request[TOKEN_KEY]
    return info


def scope_of(request: web.Request) -> str | None:
    """The enterprise project the token is bound to; None for an admin token."""
    token = token_of(request)
    return None if token.admin else token.enterprise_project


def int_param(request: web.Request, name: str, default: int | None, low: int,
               high: int) -> int | None:
    raw = request.query.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ApiError(400, "bad_parameter", f"{name}: give a whole number from {low} to {high}")
    return int(raw)


def choice_param(request: web.Request, name: str, choices: tuple[str, ...]) -> str | None:
    raw = request.query.get(name)
    if raw is not None and raw not in choices:
        raise ApiError(400, "bad_parameter", f"{name}: one of {', '.join(choices)}")
    return raw


async def read_json(request: web.Request) -> object:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY, actual_size=request.content_length)
    raw = await request.read()
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "malformed_json", f"the body is not valid JSON: {exc}") from None
