"""The size-capped body reader and the per-caller rate limit; the limits themselves are
in `pipeline.protocol.limits`."""

from __future__ import annotations

import time
from collections.abc import Callable

from aiohttp import web

from pipeline.protocol.codes import BODY_TOO_LARGE, THROTTLED
from pipeline.protocol.limits import MAX_BODY_BYTES

from .apierror import ApiError

_CHUNK = 256 * 1024


def too_large(size: int | str) -> ApiError:
    return ApiError(
        BODY_TOO_LARGE,
        f"Request entity too large: the body is {size} bytes, "
        f"the limit is {MAX_BODY_BYTES} bytes (12 MB)",
    )


async def read_body(request: web.Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """Read the whole body, refusing it (APIG.0201) as soon as it is known to exceed `limit`:
    from Content-Length before reading anything, else while reading a chunked body."""
    declared = request.content_length
    if declared is not None and declared > limit:
        raise too_large(declared)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(_CHUNK):
        size += len(chunk)
        if size > limit:
            raise too_large(f"more than {limit}")
        chunks.append(chunk)
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
