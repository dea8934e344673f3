"""A page's picture as the writers need it: upright, at the scale of the OCR boxes.

The Word writer crops figures from it. The page is rendered again from the original
document (`render.py`, a lock keeping pypdfium2 to one thread at a time in this process:
it is not thread-safe, and writers run in threads), scaled to the size of the image that
was sent to OCR and turned upright like the boxes (`upright.py`).
"""

from __future__ import annotations

import logging
import threading

from PIL import Image

from pipeline.errors import DocumentError
from pipeline.models import PageResult
from pipeline.render import render_page
from pipeline.upright import quarter_turns

log = logging.getLogger(__name__)

_RENDER_LOCK = threading.Lock()
_TURN = {90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180,
         270: Image.Transpose.ROTATE_90}
"""PIL rotates counter-clockwise; the page is turned clockwise by `direction`."""


def upright_picture(source_path: str, page: PageResult, password: str | None) -> Image.Image | None:
    """The page's picture, or None when the original cannot be rendered (the writer
    then leaves figures out rather than failing the document)."""
    result = page.result
    dpi = round(page.geometry.dpi) if page.geometry and page.geometry.dpi else 200
    try:
        with _RENDER_LOCK:
            image, _ = render_page(source_path, page.index, dpi=max(50, min(dpi, 600)),
                                   password=password)
    except (DocumentError, OSError, ValueError) as exc:
        log.warning("page %d of %s: no picture for its figures: %s",
                    page.index + 1, source_path, exc)
        return None
    image = image.convert("RGB")
    if image.size != (result.width, result.height):
        image = image.resize((result.width, result.height), Image.Resampling.LANCZOS)
    turn = quarter_turns(result.direction)
    return image.transpose(_TURN[turn]) if turn else image
