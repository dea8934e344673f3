"""Which pages need an OCR call: a worker process's first look at a page.

    textlayer.py  a PDF page's own text layer, when it can be trusted
    blank.py      a near-uniform page: nothing to read
    triage.py     the two checks before a page is sent (this module)

`triage_page` runs in a worker process in place of `page_worker.prepare_and_encode`:
it returns a `NoCall` (the page's result, made without OCR, and why) or the page's
geometry and Base64, exactly as `prepare_and_encode` does. A light image prepared in
the main process (`light_pages.py`) gets the blank check from `blank_check`.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from pipeline.blank import is_blank_encoded
from pipeline.models import OcrResult, PageGeometry, PageImage, PageResult
from pipeline.page_worker import PageSettings, prepare_page
from pipeline.textlayer import text_layer_page

SavedReason = Literal["text_layer", "blank", "duplicate"]
"""Why a page needed no OCR call (the ledger's error_code of its 'saved' row)."""


@dataclass(frozen=True)
class NoCall:
    page: PageResult
    reason: SavedReason


Prepare = Callable[[str, str, int, PageSettings], PageImage]


def triage_page(
    path: str, doc_key: str, index: int, settings: PageSettings, *,
    text_pages: bool = True, blank_pages: bool = True,
    prepare: Prepare = prepare_page,
) -> NoCall | tuple[PageGeometry, str]:
    """Page `index`: its result without OCR, or the page ready to send as
    `page_worker.prepare_and_encode` gives it (its geometry and its Base64), prepared by
    `prepare` (the seam tests replace)."""
    if text_pages:
        page, _why = text_layer_page(path, index, settings)
        if page is not None:
            return NoCall(page, "text_layer")
    image = prepare(path, doc_key, index, settings)
    geometry = PageGeometry.of(image)
    if blank_pages and is_blank_encoded(image.data):
        return blank(index, geometry)
    return geometry, base64.b64encode(image.data).decode("ascii")


def blank(index: int, geometry: PageGeometry) -> NoCall:
    """The result of a page found blank: no blocks."""
    empty = OcrResult((), geometry.image_width, geometry.image_height)
    return NoCall(PageResult(index, empty, geometry), "blank")


def blank_check(index: int, geometry: PageGeometry, data: bytes) -> NoCall | None:
    """The blank check of a page prepared in the main process (`light_pages.py`), on the
    bytes to send."""
    return blank(index, geometry) if is_blank_encoded(data) else None
