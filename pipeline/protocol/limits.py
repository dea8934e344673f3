"""The input limits of the OCR APIs (protocol.md §1), for the client that fits pages to them
and the service that enforces them.

"MB" is read as MiB (1024 * 1024 bytes), which is what Huawei's "10 MB"/"12 MB" mean in
practice; clients that stay under 10**6-based figures are safe either way.
"""

from __future__ import annotations

MAX_BODY_BYTES = 12 * 1024 * 1024
"""The whole request body (APIG.0201, 413)."""
MAX_BASE64_CHARS = 10 * 1024 * 1024
"""The `image` field, as Base64 text (ModelArts.4104, 400)."""
MAX_RAW_IMAGE_BYTES = MAX_BASE64_CHARS // 4 * 3
"""The largest image file whose Base64 fits in MAX_BASE64_CHARS."""
MIN_SIDE = 15
MAX_SIDE = 30_000
MAX_PIXELS = 160_000_000
"""Each side within MIN_SIDE..MAX_SIDE, width * height at most MAX_PIXELS (AIS.0103)."""
MAX_ASPECT_RATIO = 100
"""The longer side at most this many times the shorter (AIS.0103 from the embedded
service; Huawei documents no such limit). OCR engines scale a page to about 2,000 px on its
longer side, which leaves a 1:100 strip a short side of 20 px and a thinner one nothing to
read; the client refuses such a page before sending it."""


def aspect_problem(width: int, height: int) -> str | None:
    """Why a `width` x `height` page is too long and thin to read, or None."""
    if max(width, height) > MAX_ASPECT_RATIO * min(width, height):
        return (
            f"The image is {width}x{height} px: its longer side is more than "
            f"{MAX_ASPECT_RATIO} times the shorter, too long and thin for OCR: cut it into "
            "shorter pieces"
        )
    return None


def size_problem(width: int, height: int) -> str | None:
    """Why an image of `width` x `height` px breaks the limits, or None if it does not."""
    if min(width, height) < MIN_SIDE or max(width, height) > MAX_SIDE:
        return f"The image is {width}x{height} px: each side must be {MIN_SIDE} to {MAX_SIDE} px"
    if width * height > MAX_PIXELS:
        return f"The image is {width}x{height} px, more than {MAX_PIXELS} pixels"
    return None
