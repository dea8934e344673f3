"""Fit a page image to the OCR API's limits and encode it (protocol.md, section 1).

The API takes sides of 15..30000 px, at most 160 Mpx and at most 10 MB of Base64
(about 7.5 MB raw). On top of that `PageLimits.max_side` (default 4096 px) keeps pages fast
to send and to recognise: OCR engines resize their input to well under 4096 px anyway
(RapidOCR's detector works at <= 2000 px), and a 300 dpi A4 page (2480 x 3508) passes
unscaled.

Encoding: 1-bit scans stay 1-bit and go as PNG, lossless and about ten times smaller
than JPEG (tess_eurotext.tif: PNG 15 KB, JPEG q90 172 KB; the 3312 x 2550 UNLV page:
166 KB vs 1.8 MB). Everything else (photos, grey and colour scans, rendered PDF pages)
goes as JPEG, quality 90, with quality and then size lowered until the bytes fit. A page
with only two colours is a bitonal scan stored as grey, palette or RGB: it becomes 1-bit
first (ocrmypdf_linn.png, 2550 x 3300 palette: PNG 140 KB instead of JPEG 1.7 MB).
Transparency is composited onto white (black text on a transparent background would
otherwise turn black on black); palette images become RGB; 16-bit grey becomes 8-bit.
Pages are never upscaled: a side under 15 px is an error for the user to see.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Literal

from PIL import Image

from pipeline.errors import PageSizeError
from pipeline.models import PageImage
from pipeline.protocol.images import as_bitonal, flatten
from pipeline.protocol.limits import (
    MAX_BASE64_CHARS,
    MAX_PIXELS,
    MAX_SIDE,
    MIN_SIDE,
    aspect_problem,
)

JPEG_QUALITIES = (90, 80, 70, 60)
SHRINK_STEP = 0.8
"""Once the lowest quality is still too large, the image shrinks by this factor per try."""


@dataclass(frozen=True)
class PageLimits:
    """What a page is fitted to: the API's limits, and a side cap of our own."""

    min_side: int = MIN_SIDE
    max_side: int = 4096
    max_pixels: int = MAX_PIXELS
    max_b64_bytes: int = MAX_BASE64_CHARS

    @property
    def max_raw_bytes(self) -> int:
        """Largest encoded image whose Base64 fits in `max_b64_bytes`."""
        return self.max_b64_bytes // 4 * 3


DEFAULT_PAGE_LIMITS = PageLimits()


def fit_page(
    image: Image.Image,
    *,
    doc_key: str,
    index: int,
    dpi: float | None,
    limits: PageLimits = DEFAULT_PAGE_LIMITS,
) -> PageImage:
    """Flatten, scale and encode `image` so that it satisfies `limits`.

    `dpi` is the resolution of `image` as given (kept as is in the result, which
    describes the source raster); `width`/`height` of the result are the encoded size.
    Raises PageSizeError for an image too small, or too thin, to be made to fit.
    """
    flat = flatten(image)
    if flat.mode != "1":
        flat = as_bitonal(flat) or flat
    source_width, source_height = flat.size
    target = _target_size(source_width, source_height, limits)
    data, fmt, (width, height) = _encode(flat, target, limits)
    return PageImage(
        doc_key=doc_key, index=index, data=data, format=fmt, width=width, height=height,
        source_width=source_width, source_height=source_height, dpi=dpi,
    )


def _target_size(width: int, height: int, limits: PageLimits) -> tuple[int, int]:
    too_thin = aspect_problem(width, height)
    if too_thin:
        raise PageSizeError(too_thin)
    if min(width, height) < limits.min_side:
        raise PageSizeError(
            f"image is {width} x {height} px; the OCR API needs at least "
            f"{limits.min_side} px on each side"
        )
    side_cap = min(limits.max_side, MAX_SIDE)
    scale = min(1.0, side_cap / max(width, height), math.sqrt(limits.max_pixels / (width * height)))
    if min(width, height) * scale < limits.min_side:
        # A long, thin strip: allow up to the API's own side limit before giving up.
        scale = min(1.0, limits.min_side / min(width, height))
        too_long = max(width, height) * scale > MAX_SIDE
        if too_long or width * height * scale**2 > limits.max_pixels:
            raise PageSizeError(
                f"image is {width} x {height} px: too long and thin for the OCR API "
                f"(each side {limits.min_side}..{MAX_SIDE} px): cut it into shorter pieces"
            )
    return _scaled((width, height), scale)


def _scaled(size: tuple[int, int], scale: float) -> tuple[int, int]:
    if scale >= 1.0:
        return size
    return max(1, math.floor(size[0] * scale)), max(1, math.floor(size[1] * scale))


def _encode(
    image: Image.Image, target: tuple[int, int], limits: PageLimits
) -> tuple[bytes, Literal["jpeg", "png"], tuple[int, int]]:
    if image.mode == "1" and target == image.size:
        data = _save(image, "PNG")
        if len(data) <= limits.max_raw_bytes:
            return data, "png", image.size
    if image.mode == "1":
        image = image.convert("L")  # scaled bitonal pages get grey anti-aliasing
    size = target
    while True:
        resized = _resize(image, size)
        for quality in JPEG_QUALITIES:
            data = _save(resized, "JPEG", quality=quality)
            if len(data) <= limits.max_raw_bytes:
                return data, "jpeg", size
        size = _scaled(size, SHRINK_STEP)
        if min(size) < limits.min_side:
            raise PageSizeError(
                f"image of {image.width} x {image.height} px cannot be encoded within "
                f"{limits.max_b64_bytes // (1024 * 1024)} MB of Base64"
            )


def _resize(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    if size == image.size:
        return image
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _save(image: Image.Image, fmt: str, **options: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()
