"""Who may call the service: the auth file, AK/SK signatures with lockout, tokens.

The auth file's format is in authfile.py; its AK/SK pairs are read here (`[[credentials]]`,
plus `HUAWEICLOUD_SDK_AK` / `HUAWEICLOUD_SDK_SK` when both are set: the variables the
official SDK reads, so a client and a local service can share them).

A request is authenticated by either

- `X-Auth-Token`: a token from `POST /v3/auth/tokens` (iam.py); expired -> 401 APIG.0307,
  not project-scoped -> 401 ModelArts.0212, unknown or for another project -> APIG.0301;
- an SDK-HMAC-SHA256 signature (`pipeline.protocol.signing`) dated within 15 minutes of the
  server clock, with the `X-Security-Token` of a temporary key; failures -> 401 APIG.0301.
  Five failed signatures in a row from one client address back that address off for
  that AK (lockout.py); the AK's owner, elsewhere, is not locked out.

`request[USER_KEY]` then names the caller ("ak:AK" or "user:DOMAIN/NAME"), for the rate
limit. Secrets are never logged nor put in messages.
"""

from __future__ import annotations

import hmac
import logging
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from pipeline.protocol import names
from pipeline.protocol.codes import AUTH_FAILED, REQUEST_TIMEOUT
from pipeline.protocol.credentials import KeyPairError, env_key_pair, mode_if_shared
from pipeline.protocol.signing import SignatureError, verify_request

from .apierror import ApiError, SetupError
from .authfile import AuthConfig, parse_auth_data
from .guard import check_host, check_length, check_single_headers, claimed_ak, precheck_signature
from .iam import TokenStore
from .limits import BODY_TIMEOUT_S, BodyBudget, ClientGone, read_body
from .lockout import FREE_FAILURES, Lockout, address_key
from .logsafe import escape, printable

logger = logging.getLogger(__name__)

BODY_KEY = web.RequestKey("ocrpipe.body", bytes)
"""`request[BODY_KEY]`: the body bytes, read (size-capped) before the signature check."""
AK_KEY = web.RequestKey("ocrpipe.ak", str)
"""`request[AK_KEY]`: the access key that signed the request ("" without auth or a token)."""
USER_KEY = web.RequestKey("ocrpipe.user", str)
"""`request[USER_KEY]`: who called ("ak:AK", "user:DOMAIN/NAME", "anonymous")."""
LOCK_AFTER_FAILURES = FREE_FAILURES
__all__ = ["Lockout", "auth_middleware", "check_signature", "load_auth"]


def load_auth(auth_file: Path | None, environ: Mapping[str, str] | None = None) -> AuthConfig:
    """The whole auth configuration: the file (authfile.py) and the environment's AK/SK."""
    env = os.environ if environ is None else environ
    config = AuthConfig()
    if auth_file is not None:
        config = _read_auth_file(auth_file)
    try:
        pair = env_key_pair(env)
    except KeyPairError as exc:
        raise SetupError(str(exc)) from None
    if pair is not None:
        ak, sk = pair
        config.credentials[ak] = sk
    return config


def _read_auth_file(path: Path) -> AuthConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SetupError(f"Cannot read the auth file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise SetupError(f"The auth file {path} is not UTF-8 text") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SetupError(f"The auth file {path} is not valid TOML: {exc}") from None
    _warn_if_readable_by_others(path)

    hint = 'expected [[credentials]] tables with ak = "..." and sk = "...", or [[users]]'
    unknown = sorted(set(data) - {"credentials", "users", "projects", "admin", "tokens"})
    if unknown:
        raise SetupError(f"The auth file {path} has unknown key(s) {unknown}: {hint}")
    config = parse_auth_data(path, data)
    entries = data.get("credentials", [])
    if not isinstance(entries, list) or not (entries or config.users):
        raise SetupError(f"The auth file {path} has no credentials: {hint}")
    for number, entry in enumerate(entries, start=1):
        ak, sk, token = _credential(path, number, entry, hint, config.credentials)
        config.credentials[ak] = sk
        if token:
            config.security_tokens[ak] = token
    return config


def _credential(
    path: Path, number: int, entry: Any, hint: str, seen: Mapping[str, str]
) -> tuple[str, str, str]:
    where = f"The auth file {path}, credentials entry {number}"
    if (
        not isinstance(entry, dict)
        or not {"ak", "sk"} <= set(entry)
        or set(entry) - {"ak", "sk", "security_token"}
    ):
        raise SetupError(f"{where} must have the keys ak and sk (and security_token): {hint}")
    token = entry.get("security_token", "")
    if not isinstance(token, str):
        raise SetupError(f"{where}: security_token must be a string")
    ak, sk = entry["ak"], entry["sk"]
    if not isinstance(ak, str) or not isinstance(sk, str) or not ak.strip() or not sk.strip():
        raise SetupError(f"{where}: ak and sk must be non-empty strings")
    if ak != ak.strip() or any(c in ak for c in ", ;="):
        raise SetupError(f"{where}: the ak must not contain spaces, commas, ';' or '='")
    if ak in seen:
        raise SetupError(f"{where}: the ak {ak} appears twice")
    return ak, sk, token


def _warn_if_readable_by_others(path: Path) -> None:
    if mode_if_shared(path) is not None:
        logger.warning("the auth file %s is readable by other users: chmod 600 it", path)


def auth_middleware(
    auth: AuthConfig,
    tokens: TokenStore,
    *,
    required: bool,
    public_paths: frozenset[str],
    lockout: Lockout | None = None,
    public_host: str | None = None,
    budget: BodyBudget | None = None,
    body_timeout: float = BODY_TIMEOUT_S,
    hostless_paths: frozenset[str] = frozenset(),
) -> Middleware:
    """Check the headers (guard.py), read the body (size- and time-capped) and, when
    `required`, authenticate the caller.

    Every request is refused on duplicated single headers; all but `hostless_paths` (health,
    metrics) on a `Host` other than `public_host` when it is set. Paths in `public_paths`
    (health, metrics, the token and usage endpoints, which check their own credentials) and
    unmatched routes then pass, so an unknown path answers 404 rather than 401.

    What the headers tell is checked before the body is read: a token in full, a signature's
    AK, lockout and date. The body of a request not yet authenticated is held within
    `budget` (shared by all such requests, a share per client address); one that times out
    or is cut off counts as a failed signature of its AK from its address.
    """
    locks = lockout or Lockout()
    bodies = budget or BodyBudget()

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        check_single_headers(request.headers)
        if request.path not in hostless_paths:
            check_host(request, public_host)
        if request.match_info.http_exception is not None or request.path in public_paths:
            return await handler(request)
        check_length(request)
        address = request.remote or ""
        request[AK_KEY] = ""
        request[USER_KEY] = "anonymous"
        token = request.headers.get(names.AUTH_TOKEN) if required else None
        if token is not None:
            user = tokens.check(token, request.match_info.get("project_id", ""))
            request[USER_KEY] = f"user:{user}"
            request[BODY_KEY] = await read_body(request, seconds=body_timeout)
            return await handler(request)
        claimed = precheck_signature(request, auth, locks, address) if required else ""
        owner = address_key(address)
        try:
            body = await read_body(request, seconds=body_timeout, budget=bodies, owner=owner)
        except (ApiError, ClientGone) as exc:
            if claimed and (isinstance(exc, ClientGone) or exc.kind == REQUEST_TIMEOUT):
                locks.failed(claimed, address)  # a body never finished counts as a failure
            raise
        try:
            if required:
                ak = check_signature(request, body, auth, locks, address, claimed)
                request[AK_KEY] = ak
                request[USER_KEY] = f"ak:{ak}"
        finally:
            bodies.give_back(len(body), owner)
        request[BODY_KEY] = body
        return await handler(request)

    return middleware


def check_signature(
    request: web.Request,
    body: bytes,
    auth: AuthConfig,
    lockout: Lockout,
    address: str = "",
    claimed: str | None = None,
) -> str:
    """The AK that signed `request`; ApiError APIG.0301 if the signature does not hold or
    this address is backed off for the AK."""
    ak = claimed_ak(request) if claimed is None else claimed
    if ak in auth.credentials:
        lockout.check(ak, address)
    try:
        signer = verify_request(
            request.method,
            request.raw_path.split("?", 1)[0],
            request.query.items(),
            request.headers,
            body,
            auth.credentials.get,
        )
    except SignatureError as exc:
        if ak in auth.credentials:
            lockout.failed(ak, address)
        logger.info("signature rejected: %s", escape(str(exc)))
        message = printable(f"Incorrect IAM authentication information: {exc}")
        raise ApiError(AUTH_FAILED, message) from None
    expected = auth.security_tokens.get(signer)
    if expected is not None and not hmac.compare_digest(
        request.headers.get(names.SECURITY_TOKEN, "").encode(), expected.encode()
    ):
        lockout.failed(signer, address)
        raise ApiError(
            AUTH_FAILED,
            "Incorrect IAM authentication information: this temporary access key needs its "
            f"{names.SECURITY_TOKEN}",
        )
    lockout.succeeded(signer, address)
    return signer
