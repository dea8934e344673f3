"""The size-capped body reader and the per-caller rate limit; the limits themselves are
in `pipeline.protocol.limits`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from pipeline.protocol.codes import BODY_TOO_LARGE, REQUEST_TIMEOUT, THROTTLED
from pipeline.protocol.limits import MAX_BODY_BYTES

from .apierror import ApiError

_CHUNK = 256 * 1024

# Defaults of the connection guard (`ocrpipe serve` flags; connections.py, guard.py).
HEADER_TIMEOUT_S = 15.0
"""From a connection's first byte (or its previous answer) to a request's complete headers."""
BODY_TIMEOUT_S = 60.0
"""From complete headers to the whole body (12 MB at 2 Mbit/s takes 50 s)."""
IDLE_TIMEOUT_S = 75.0
"""An idle keep-alive connection is closed after this (longer than clients keep theirs)."""
MAX_CONNECTIONS = 1024
MAX_CONNECTIONS_PER_ADDRESS = 128
"""Open connections in all and per client address (an IPv6 client: its /64)."""
PREAUTH_BUFFER_BYTES = 128 * 1024 * 1024
"""Body bytes held, at most, for requests whose signature is not checked yet."""
MAX_SMALL_BODY_BYTES = 64 * 1024
"""Bodies of the token endpoint (a password login is a few hundred bytes)."""


class ClientGone(Exception):
    """The client closed the connection before its body was read: nobody to answer."""


class BodyBudget:
    """Bytes that requests not yet authenticated may hold: `limit` in all, `per_owner` per
    client address (default a quarter of the whole, at least one body), so that a few
    addresses cannot take all of it."""

    def __init__(self, limit: int = PREAUTH_BUFFER_BYTES, per_owner: int | None = None) -> None:
        self.limit = limit
        self.per_owner = max(MAX_BODY_BYTES, limit // 4) if per_owner is None else per_owner
        self.held = 0
        self._by_owner: dict[str, int] = {}

    def fits(self, size: int, owner: str = "") -> bool:
        return (
            self.held + size <= self.limit
            and self._by_owner.get(owner, 0) + size <= self.per_owner
        )

    def try_take(self, size: int, owner: str = "") -> bool:
        if not self.fits(size, owner):
            return False
        self.held += size
        self._by_owner[owner] = self._by_owner.get(owner, 0) + size
        return True

    def give_back(self, size: int, owner: str = "") -> None:
        self.held = max(0, self.held - size)
        left = self._by_owner.get(owner, 0) - size
        if left > 0:
            self._by_owner[owner] = left
        else:
            self._by_owner.pop(owner, None)

    def held_by(self, owner: str) -> int:
        return self._by_owner.get(owner, 0)


def busy() -> ApiError:
    return ApiError(
        THROTTLED,
        "The service is receiving too many request bodies at once: retry in a moment",
        retry_after=1.0,
    )


def too_large(size: int | str) -> ApiError:
    return ApiError(
        BODY_TOO_LARGE,
        f"Request entity too large: the body is {size} bytes, "
        f"the limit is {MAX_BODY_BYTES} bytes (12 MB)",
    )


async def read_body(
    request: web.Request,
    limit: int = MAX_BODY_BYTES,
    *,
    seconds: float = BODY_TIMEOUT_S,
    budget: BodyBudget | None = None,
    owner: str = "",
) -> bytes:
    """Read the whole body, refusing it (APIG.0201) as soon as it is known to exceed `limit`:
    from Content-Length before reading anything, else while reading a chunked body.

    The body must arrive within `seconds` (else 408 APIG.0201). With a `budget`,
    the bytes are taken from it for `owner` as they come (429 APIG.0308 when it is spent)
    and stay taken when this returns: the caller gives `len(body)` back. ClientGone if the client
    disconnects."""
    declared = request.content_length
    if declared is not None and declared > limit:
        raise too_large(declared)
    if budget is not None and declared and not budget.fits(declared, owner):
        raise busy()
    chunks: list[bytes] = []
    size = 0
    done = False
    try:
        async with asyncio.timeout(seconds):
            async for chunk in request.content.iter_chunked(_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise too_large(f"more than {limit}")
                if budget is not None and not budget.try_take(len(chunk), owner):
                    raise busy()
                chunks.append(chunk)
        done = True
    except TimeoutError:
        raise ApiError(
            REQUEST_TIMEOUT,
            f"Request timeout: the body did not arrive within {seconds:g} s",
        ) from None
    except (ConnectionError, HttpProcessingError, asyncio.IncompleteReadError) as exc:
        raise ClientGone(str(exc)) from None
    finally:
        if not done and budget is not None:
            budget.give_back(sum(len(chunk) for chunk in chunks), owner)
    return b"".join(chunks)


class RateLimiter:
    """Calls per caller, per API, per minute (fixed one-minute windows, as APIG counts).

    `check` raises 429 APIG.0308 with Huawei's message shape once a caller has made
    `per_minute` calls of an API in the current minute; 0 means no limit.
    """

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._window = -1
        self._counts: dict[tuple[str, str], int] = {}

    def check(self, caller: str, api: str) -> None:
        if self.per_minute <= 0:
            return
        now = self._clock()
        window = int(now // 60)
        if window != self._window:
            self._window, self._counts = window, {}
        key = (caller, api)
        count = self._counts.get(key, 0)
        if count >= self.per_minute:
            raise ApiError(
                THROTTLED,
                "The throttling threshold has been reached: policy user over ratelimit,"
                f"limit:{self.per_minute},time:1 minute",
                retry_after=max(1.0, (window + 1) * 60 - now),
            )
        self._counts[key] = count + 1
