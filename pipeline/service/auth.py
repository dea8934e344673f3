"""Who may call the service: AK/SK credentials and the middleware that checks signatures.

Credentials come from an auth file and from the environment:

    # ocrpipe-auth.toml: one [[credentials]] table per key pair (chmod 600 it)
    [[credentials]]
    ak = "MYACCESSKEY"
    sk = "my-secret-key"

    [[credentials]]
    ak = "OTHERKEY"
    sk = "other-secret"

plus `HUAWEICLOUD_SDK_AK` / `HUAWEICLOUD_SDK_SK` when both are set (the variables the
official SDK reads, so a client and a local service can share them). Requests must carry a
valid SDK-HMAC-SHA256 signature (`pipeline.ocr.signing`) dated within 15 minutes of the
server clock; failures answer 401 APIG.0301. Secrets are never logged nor put in messages.
"""

from __future__ import annotations

import logging
import os
import stat
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from pipeline.errors import ConfigError
from pipeline.ocr.signing import SignatureError, verify_request

from .errors import AUTH_FAILED, ApiError
from .limits import read_body

logger = logging.getLogger(__name__)

ENV_AK = "HUAWEICLOUD_SDK_AK"
ENV_SK = "HUAWEICLOUD_SDK_SK"
BODY_KEY = web.RequestKey("ocrpipe.body", bytes)
"""`request[BODY_KEY]`: the body bytes, read (size-capped) before the signature check."""
AK_KEY = web.RequestKey("ocrpipe.ak", str)
"""`request[AK_KEY]`: the access key that signed the request ("" without auth)."""


def load_credentials(
    auth_file: Path | None, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """AK -> SK from `auth_file` (TOML, format above) and the HUAWEICLOUD_SDK_AK/SK pair.

    Raises ConfigError, naming the file and what is wrong, for an unreadable or malformed
    file, or when only one of the two environment variables is set.
    """
    env = os.environ if environ is None else environ
    credentials: dict[str, str] = {}
    if auth_file is not None:
        credentials.update(_read_auth_file(auth_file))
    ak, sk = env.get(ENV_AK, ""), env.get(ENV_SK, "")
    if bool(ak) != bool(sk):
        missing = ENV_SK if ak else ENV_AK
        raise ConfigError(f"{missing} is not set: set both {ENV_AK} and {ENV_SK}, or neither")
    if ak:
        credentials[ak] = sk
    return credentials


def _read_auth_file(path: Path) -> dict[str, str]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"Cannot read the auth file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"The auth file {path} is not UTF-8 text") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"The auth file {path} is not valid TOML: {exc}") from None
    _warn_if_readable_by_others(path)

    hint = 'expected [[credentials]] tables with ak = "..." and sk = "..."'
    unknown = sorted(set(data) - {"credentials"})
    if unknown:
        raise ConfigError(f"The auth file {path} has unknown key(s) {unknown}: {hint}")
    entries = data.get("credentials")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"The auth file {path} has no credentials: {hint}")
    result: dict[str, str] = {}
    for number, entry in enumerate(entries, start=1):
        result.update(_credential(path, number, entry, hint, result))
    return result


def _credential(
    path: Path, number: int, entry: Any, hint: str, seen: Mapping[str, str]
) -> dict[str, str]:
    where = f"The auth file {path}, credentials entry {number}"
    if not isinstance(entry, dict) or set(entry) != {"ak", "sk"}:
        raise ConfigError(f"{where} must have exactly the keys ak and sk: {hint}")
    ak, sk = entry["ak"], entry["sk"]
    if not isinstance(ak, str) or not isinstance(sk, str) or not ak.strip() or not sk.strip():
        raise ConfigError(f"{where}: ak and sk must be non-empty strings")
    if ak != ak.strip() or any(c in ak for c in ", ;="):
        raise ConfigError(f"{where}: the ak must not contain spaces, commas, ';' or '='")
    if ak in seen:
        raise ConfigError(f"{where}: the ak {ak} appears twice")
    return {ak: sk}


def _warn_if_readable_by_others(path: Path) -> None:
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        logger.warning("the auth file %s is readable by other users: chmod 600 it", path)


def auth_middleware(
    credentials: Mapping[str, str], *, required: bool, public_paths: frozenset[str]
) -> Middleware:
    """Read the body (size-capped) and, when `required`, check its AK/SK signature.

    Paths in `public_paths` (the health check) and unmatched routes pass untouched, so an
    unknown path answers 404 rather than 401.
    """
    secrets = dict(credentials)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.match_info.http_exception is not None or request.path in public_paths:
            return await handler(request)
        body = await read_body(request)
        request[BODY_KEY] = body
        request[AK_KEY] = ""
        if required:
            request[AK_KEY] = check_signature(request, body, secrets)
        return await handler(request)

    return middleware


def check_signature(request: web.Request, body: bytes, secrets: Mapping[str, str]) -> str:
    """The AK that signed `request`; ApiError APIG.0301 if the signature does not hold."""
    try:
        return verify_request(
            request.method,
            request.raw_path.split("?", 1)[0],
            request.query.items(),
            request.headers,
            body,
            secrets.get,
        )
    except SignatureError as exc:
        logger.info("signature rejected: %s", exc)
        raise ApiError(AUTH_FAILED, f"Incorrect IAM authentication information: {exc}") from None
