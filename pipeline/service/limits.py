"""The general-text input limits (protocol.md, section 1) and the size-capped body reader.

"MB" is read as MiB (1024 * 1024 bytes), which is what Huawei's "10 MB"/"12 MB" mean in
practice; clients that stay under 10**6-based figures are safe either way.
"""

from __future__ import annotations

from aiohttp import web

from .errors import BODY_TOO_LARGE, ApiError

MAX_BODY_BYTES = 12 * 1024 * 1024
"""The whole request body (APIG.0201, 413)."""
MAX_BASE64_CHARS = 10 * 1024 * 1024
"""The `image` field, as Base64 text (ModelArts.4104, 400)."""
MIN_SIDE = 15
MAX_SIDE = 30_000
MAX_PIXELS = 160_000_000
"""Each side within MIN_SIDE..MAX_SIDE, width * height at most MAX_PIXELS (AIS.0103)."""

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
