"""Pages light enough to skip the worker processes.

A single JPEG or PNG file of up to 1 MB that is sent as it is
(`page_worker.passthrough_jpeg`, `passthrough_png`) costs little: for a PNG a header
read, its chunks' checksums and Base64, well under a millisecond; a JPEG is also decoded
once to prove it decodes (Pillow releases the GIL while it decodes). Sending it through
the process pool (pickle the call, wake a worker, pickle the Base64 of the page back
through a pipe) cost more than the work itself, twice per document (once to inspect it,
once to prepare its page). Such a file is inspected and prepared in a thread
of this process instead, and its blank check (`triage.blank_check`) runs in the same
thread hop, on the bytes read, before any Base64 is made; everything else (PDF, TIFF,
pages to decode, scale or encode) still goes to a worker process, so the event loop
never waits on CPU work (DESIGN.md invariant 4). Pillow and zlib release the GIL while they work.
"""

from __future__ import annotations

import asyncio
import base64
import os

from pipeline.errors import DocumentError
from pipeline.models import PageGeometry
from pipeline.page_worker import PageSettings, passthrough_jpeg, passthrough_png
from pipeline.render import DocumentInfo, inspect_document, sniff_format
from pipeline.triage import NoCall, blank_check

LIGHT_FILE_BYTES = 1 << 20
"""The largest file handled here rather than in a worker process."""
_LIGHT_FORMATS = ("JPEG", "PNG")


async def inspect_here(path: str) -> DocumentInfo | None:
    """What the document is and its page count when it is a small JPEG or PNG file, read
    in a thread; None for everything else (a worker process inspects it)."""
    return await asyncio.to_thread(_inspect_light, path)


async def prepare_here(
    path: str, doc_key: str, index: int, settings: PageSettings, *, blank_pages: bool = False
) -> NoCall | tuple[PageGeometry, str] | None:
    """The page's geometry and Base64 when it is a light file sent as it is, else None
    (the caller has a worker process prepare it). With `blank_pages`, a blank light page
    is its `NoCall` instead."""
    if index != 0:  # only single-image files are light: no thread hop for PDF pages
        return None
    return await asyncio.to_thread(_prepare_light, path, doc_key, index, settings, blank_pages)


def _is_light(path: str) -> bool:
    try:
        return os.path.getsize(path) <= LIGHT_FILE_BYTES and sniff_format(path) in _LIGHT_FORMATS
    except (OSError, DocumentError):
        return False  # the worker process finds out, and says, what is wrong


def _inspect_light(path: str) -> DocumentInfo | None:
    if not _is_light(path):
        return None
    return inspect_document(path)


def _prepare_light(
    path: str, doc_key: str, index: int, settings: PageSettings, blank_pages: bool = False
) -> NoCall | tuple[PageGeometry, str] | None:
    if index != 0 or not _is_light(path):
        return None
    page = passthrough_jpeg(path, doc_key, index, settings.limits) or passthrough_png(
        path, doc_key, index, settings.limits
    )
    if page is None:
        return None
    geometry = PageGeometry.of(page)
    if blank_pages and (no_call := blank_check(index, geometry, page.data)) is not None:
        return no_call
    return geometry, base64.b64encode(page.data).decode("ascii")
