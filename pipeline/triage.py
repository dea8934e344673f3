"""Which pages need an OCR call: a worker process's first look at a page.

    textlayer.py  a PDF page's own text layer, when it can be trusted
    blank.py      a near-uniform page: nothing to read
    triage.py     the two checks before a page is sent (this module)

`triage_page` runs in a worker process in place of `page_worker.prepare_and_encode`:
it returns a `NoCall` (the page's result, made without OCR, and why) or the page
prepared for sending and its Base64, exactly as `prepare_and_encode` does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from pipeline.blank import is_blank_encoded
from pipeline.models import OcrResult, PageGeometry, PageImage, PageResult
from pipeline.page_worker import PageSettings, prepare_and_encode
from pipeline.textlayer import text_layer_page

SavedReason = Literal["text_layer", "blank", "duplicate"]
"""Why a page needed no OCR call (the ledger's error_code of its 'saved' row)."""


@dataclass(frozen=True)
class NoCall:
    page: PageResult
    reason: SavedReason


Prepare = Callable[[str, str, int, PageSettings], tuple[PageImage, str]]


def triage_page(
    path: str, doc_key: str, index: int, settings: PageSettings, *,
    text_pages: bool = True, blank_pages: bool = True,
    prepare: Prepare = prepare_and_encode,
) -> NoCall | tuple[PageImage, str]:
    """Page `index`: its result without OCR, or the page ready to send (by `prepare`:
    the document stage passes its own, the seam tests replace)."""
    if text_pages:
        page, _why = text_layer_page(path, index, settings)
        if page is not None:
            return NoCall(page, "text_layer")
    image, image_b64 = prepare(path, doc_key, index, settings)
    if blank_pages and is_blank_encoded(image.data):
        empty = OcrResult((), image.width, image.height)
        return NoCall(PageResult(index, empty, PageGeometry.of(image)), "blank")
    return image, image_b64
