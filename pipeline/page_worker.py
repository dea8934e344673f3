"""What a worker process does for one page: render (`render.py`), then fit and encode
(`prepare.py`), then Base64.

    render.py       a document's page as pixels (PDF rasterizers, image decoding)
    prepare.py      pixels fitted to the API's limits and encoded as JPEG/PNG
    page_worker.py  the two in a row, in a worker process, for one page (this module)

`prepare_and_encode` takes and returns only picklable values (a path, strings, a frozen
`PageSettings`; a `PageGeometry` and the Base64 text), so the document stage can hand it to a
`ProcessPoolExecutor`. Each call opens the document afresh: no state survives between
calls in a worker.

A JPEG file that already satisfies the limits is sent as it is (`format="original"`):
re-encoding it would only cost time and add a second generation of JPEG loss. So is a
plain PNG file (grey or RGB, no transparency, up to `PASSTHROUGH_PNG_BYTES`), checked
from its chunks without decoding it (`png_header.py`): it is lossless already, and
decoding plus re-encoding it was most of a small page's CPU.
"""

from __future__ import annotations

import base64
import io
import os
from dataclasses import dataclass

from PIL import JpegImagePlugin

from pipeline.models import PageGeometry, PageImage
from pipeline.png_header import read_png_header
from pipeline.prepare import DEFAULT_PAGE_LIMITS, PageLimits, fit_page
from pipeline.protocol.limits import MAX_SIDE, aspect_problem
from pipeline.render import (
    RENDER_MAX_PIXELS,
    embedded_jpeg,
    plausible_dpi,
    render_page,
    sniff_format,
)

_EXIF_ORIENTATION = 0x0112
PASSTHROUGH_PNG_BYTES = 1 << 20
"""A larger PNG (a photo saved as PNG, say) is re-encoded as JPEG: fewer bytes to send."""


@dataclass(frozen=True)
class PageSettings:
    """How every page of a job is rendered and fitted (from the job's `[render]`)."""

    dpi: int = 200
    rasterizer: str = "pypdfium2"
    password: str | None = None
    limits: PageLimits = DEFAULT_PAGE_LIMITS


DEFAULT_SETTINGS = PageSettings()


def prepare_and_encode(
    path: str, doc_key: str, index: int, settings: PageSettings = DEFAULT_SETTINGS
) -> tuple[PageGeometry, str]:
    """Page `index` of the document at `path`, prepared: its geometry and its Base64 text
    (the encoded bytes themselves do not travel back: the pipe would carry them twice)."""
    page = prepare_page(path, doc_key, index, settings)
    return PageGeometry.of(page), base64.b64encode(page.data).decode("ascii")


def prepare_page(
    path: str, doc_key: str, index: int, settings: PageSettings = DEFAULT_SETTINGS
) -> PageImage:
    """Page `index` of the document at `path`, ready to Base64 and send.

    Raises the `DocumentError` subclasses of `render_page` and `fit_page`.
    """
    dpi, rasterizer, password, limits = (
        settings.dpi, settings.rasterizer, settings.password, settings.limits
    )
    original = passthrough_jpeg(path, doc_key, index, limits) or passthrough_png(
        path, doc_key, index, limits
    )
    if original is None and sniff_format(path) == "PDF":
        original = passthrough_pdf_jpeg(path, doc_key, index, password, limits)
    if original is not None:
        return original
    # PDF pages are rendered no larger than they will be sent: cheaper than rendering
    # big and scaling down, and the DPI reported is the one of the pixels sent.
    image, page_dpi = render_page(
        path, index, dpi=dpi, rasterizer=rasterizer, password=password,
        max_side=min(limits.max_side, MAX_SIDE),
        max_pixels=min(limits.max_pixels, RENDER_MAX_PIXELS),
    )
    try:
        return fit_page(image, doc_key=doc_key, index=index, dpi=page_dpi, limits=limits)
    finally:
        image.close()


def passthrough_pdf_jpeg(
    path: str, doc_key: str, index: int, password: str | None, limits: PageLimits
) -> PageImage | None:
    """A scanned PDF page's own JPEG, when the page is just that image and it fits."""
    found = embedded_jpeg(path, index, password=password)
    if found is None:
        return None
    data, dpi = found
    return _fitting_jpeg(data, doc_key, index, limits, dpi)


def passthrough_jpeg(path: str, doc_key: str, index: int, limits: PageLimits) -> PageImage | None:
    """The file's own bytes as the page, when it is a JPEG that needs no change at all."""
    if index != 0 or sniff_format(path) != "JPEG":
        return None
    if os.path.getsize(path) > limits.max_raw_bytes:
        return None
    with open(path, "rb") as file:
        return _fitting_jpeg(file.read(), doc_key, index, limits, None)


def passthrough_png(path: str, doc_key: str, index: int, limits: PageLimits) -> PageImage | None:
    """The file's own bytes as the page, when it is a plain PNG that needs no change."""
    if index != 0 or sniff_format(path) != "PNG":
        return None
    if os.path.getsize(path) > min(PASSTHROUGH_PNG_BYTES, limits.max_raw_bytes):
        return None
    with open(path, "rb") as file:
        data = file.read()
    header = read_png_header(data)
    if header is None or not header.plain or not _fits_as_is(header.width, header.height, limits):
        return None  # render_page decodes it (and reports what is wrong)
    width, height = header.width, header.height
    return PageImage(
        doc_key=doc_key, index=index, data=data, format="original", width=width,
        height=height, source_width=width, source_height=height,
        dpi=plausible_dpi((header.dpi,)) if header.dpi else None,
    )


def _fits_as_is(width: int, height: int, limits: PageLimits) -> bool:
    return (
        limits.min_side <= min(width, height)
        and max(width, height) <= min(limits.max_side, MAX_SIDE)
        and width * height <= limits.max_pixels
        and aspect_problem(width, height) is None
    )


def _fitting_jpeg(
    data: bytes, doc_key: str, index: int, limits: PageLimits, dpi: float | None
) -> PageImage | None:
    """`data` as the page when it is a JPEG needing no change: upright (no EXIF
    rotation), grey or RGB, within the size, pixel and byte limits, and decodable."""
    if len(data) > limits.max_raw_bytes:
        return None
    try:
        with JpegImagePlugin.JpegImageFile(io.BytesIO(data)) as image:
            width, height = image.size
            fits = (
                image.mode in ("L", "RGB")
                and image.getexif().get(_EXIF_ORIENTATION, 1) == 1
                and _fits_as_is(width, height, limits)
            )
            dpi = plausible_dpi((dpi,) if dpi else image.info.get("dpi"))
            if fits:
                image.load()  # a damaged JPEG is decoded (and reported) by render_page
    except (OSError, SyntaxError, ValueError):
        return None  # let render_page decode it and report what is wrong
    if not fits:
        return None
    return PageImage(
        doc_key=doc_key, index=index, data=data, format="original", width=width,
        height=height, source_width=width, source_height=height, dpi=dpi,
    )
