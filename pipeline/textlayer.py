"""A PDF page's own text layer as its OCR result, when the layer can be trusted.

A born-digital page (or one OCR'd before, by us or OCRmyPDF) already holds its text:
reading it costs a few milliseconds and no OCR call. PDFium gives the page's text as
rectangles of text on one line (`FPDFText_CountRects`), each becomes a `Block` in the
pixels the page would have been rendered at (so every writer treats it like an OCR
answer; confidence 1.0).

The layer is used only when it passes `text_problem`'s checks, so a page whose layer is
garbage is still sent to OCR:

- no text, or too little: fewer than `MIN_CHARS` characters;
- unmapped glyphs: "(cid:N)" strings, U+FFFD, control or private-use characters above
  `MAX_UNREADABLE` of the characters (a font without a usable ToUnicode map);
- mojibake: UTF-8 read as Latin-1 ("Ã©", "â€™") above `MAX_MOJIBAKE` of the words;
- ink the text does not explain: the page rendered small and grey, the dark pixels
  inside raster images but outside every text rectangle above `MAX_UNEXPLAINED_INK` of
  the page (a scan whose layer holds only a stamp or a header, a picture with text in
  it). Vector graphics (table rules, shading, charts) do not count: they carry no text
  the layer lacks. A page with a large dark photo is sent to OCR too: the safe side, it
  never loses text.

A page turned by a /Rotate entry is read as displayed: PDFium's boxes, in the unturned
page, are turned with it.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from pipeline.models import Block, OcrResult, PageGeometry, PageResult
from pipeline.page_worker import PageSettings
from pipeline.protocol.limits import MAX_SIDE
from pipeline.render import RENDER_MAX_PIXELS, _pdf_page, capped_scale, sniff_format

MIN_CHARS = 8
MAX_UNREADABLE = 0.05
MAX_MOJIBAKE = 0.1
MAX_UNEXPLAINED_INK = 0.01
INK_DPI = 36
"""Resolution of the check render: a page in ~3 ms, enough to see where the ink is."""
_CID = re.compile(r"\(cid:\d+\)")
_MOJIBAKE = re.compile(r"[ÃÂâ][\u0080-\u00bf€™œ\u201a-\u201e\u2018-\u201d\u2020-\u2022]")


Rect = tuple[float, float, float, float]
"""(left, top, right, bottom) in points of the page as displayed (y down, /Rotate applied)."""


@dataclass(frozen=True)
class TextLayer:
    """What the check saw: the page's text rectangles and their text."""

    rects: tuple[tuple[Rect, str], ...]
    width_pt: float
    height_pt: float
    """The page as displayed (turned by its /Rotate), in points."""


def _displayed(box: tuple[float, float, float, float], rotation: int,
               crop: tuple[float, float, float, float]) -> Rect:
    """A (left, bottom, right, top) box of PDF space in the page as displayed: from the
    crop box's top-left corner, y down, turned clockwise by the page's /Rotate."""
    crop_left, crop_bottom, crop_right, crop_top = crop
    width, height = crop_right - crop_left, crop_top - crop_bottom
    xs, ys = [], []
    for x, y in ((box[0], box[1]), (box[2], box[3])):
        u, v = x - crop_left, crop_top - y
        if rotation == 90:
            u, v = height - v, u
        elif rotation == 180:
            u, v = width - u, height - v
        elif rotation == 270:
            u, v = v, width - u
        xs.append(u)
        ys.append(v)
    return min(xs), min(ys), max(xs), max(ys)


def text_problem(text: str) -> str | None:
    """Why this text layer cannot stand in for OCR, or None when it can."""
    if _CID.search(text):
        return "unmapped glyphs ((cid:N))"
    visible = [c for c in text if not c.isspace()]
    if len(visible) < MIN_CHARS:
        return f"only {len(visible)} characters"
    unreadable = sum(
        1 for c in visible
        if c == "\ufffd" or unicodedata.category(c) in ("Cc", "Co", "Cn", "Cs")
    )
    if unreadable > MAX_UNREADABLE * len(visible):
        return f"{unreadable} of {len(visible)} characters unreadable"
    words = text.split()
    garbled = sum(1 for w in words if _MOJIBAKE.search(w))
    if garbled > MAX_MOJIBAKE * len(words):
        return f"{garbled} of {len(words)} words look like mojibake"
    return None


def unexplained_ink(page: pdfium.PdfPage, layer: TextLayer,
                    images: list[Rect]) -> float:
    """Share of the page that is dark inside a raster image (`images`) but under no
    text rectangle: text printed in a scan or a picture that the layer does not hold.
    Vector drawings (table rules, shading, charts) never carry unextracted text, so
    their ink does not count."""
    if not images:
        return 0.0
    import numpy as np  # here: every run imports this module; few pages get this far

    scale = INK_DPI / 72

    def pixels(rect: Rect, pad: float = 0.0) -> tuple[slice, slice]:
        left, top, right, bottom = rect
        x0, y0 = max(int((left - pad) * scale), 0), max(int((top - pad) * scale), 0)
        return (slice(y0, math.ceil((bottom + pad) * scale)),
                slice(x0, math.ceil((right + pad) * scale)))

    bitmap = page.render(scale=scale, grayscale=True, may_draw_forms=False)
    grey = np.array(bitmap.to_numpy(), dtype=np.uint8).reshape(
        bitmap.height, bitmap.width, -1
    )[:, :, 0]
    bitmap.close()
    in_images = np.zeros(grey.shape, dtype=bool)
    for rect in images:
        in_images[pixels(rect)] = True
    dark = (grey < 160) & in_images
    for rect, _ in layer.rects:
        line = min(rect[2] - rect[0], rect[3] - rect[1])  # turned text: its width
        dark[pixels(rect, pad=line * 0.3)] = False
    return float(dark.mean()) if dark.size else 0.0


def _layer(page: pdfium.PdfPage, rotation: int,
           crop: tuple[float, float, float, float]) -> TextLayer:
    textpage = page.get_textpage()
    try:
        rects = []
        for i in range(textpage.count_rects()):
            left, bottom, right, top = textpage.get_rect(i)
            text = textpage.get_text_bounded(left, bottom, right, top).strip()
            if text and right > left and top > bottom:
                rects.append((_displayed((left, bottom, right, top), rotation, crop), text))
    finally:
        textpage.close()
    width_pt, height_pt = page.get_size()
    return TextLayer(tuple(rects), width_pt, height_pt)


def _result(layer: TextLayer, index: int, settings: PageSettings) -> PageResult:
    limits = settings.limits
    scale = capped_scale(layer.width_pt, layer.height_pt, settings.dpi,
                         min(limits.max_side, MAX_SIDE),
                         min(limits.max_pixels, RENDER_MAX_PIXELS))
    width = math.ceil(layer.width_pt * scale)
    height = math.ceil(layer.height_pt * scale)
    blocks = []
    for (left, top, right, bottom), text in layer.rects:
        x0, y0 = round(left * scale), round(top * scale)
        blocks.append(Block.rect(text, x0, y0, round(right * scale) - x0,
                                 round(bottom * scale) - y0, 1.0))
    result = OcrResult(tuple(blocks), width, height, -1.0, request_id="")
    return PageResult(index, result, PageGeometry(width, height, width, height, scale * 72))


def text_layer_page(
    path: str, index: int, settings: PageSettings
) -> tuple[PageResult | None, str]:
    """Page `index`'s text layer as its result, or (None, why it is not used)."""
    if sniff_format(path) != "PDF":
        return None, "not a PDF"
    with _pdf_page(path, index, settings.password) as page:
        rotation = page.get_rotation() % 360
        crop = page.get_cropbox()
        layer = _layer(page, rotation, crop)
        problem = text_problem("\n".join(text for _, text in layer.rects))
        if problem is None:
            images = [_displayed(obj.get_bounds(), rotation, crop) for obj in
                      page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,), max_depth=4)]
            ink = unexplained_ink(page, layer, images)
            if ink > MAX_UNEXPLAINED_INK:
                problem = f"{ink:.1%} of the page is ink outside the text"
    if problem is not None:
        return None, problem
    return _result(layer, index, settings), "text layer"
