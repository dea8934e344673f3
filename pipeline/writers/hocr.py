"""hOCR 1.2: the OCR result as XHTML, the interchange format Tesseract and OCRmyPDF read.

One `ocr_page` per page (`image` the source key, `bbox` the page, `ppageno` its 0-based
number, `scan_res` when the dpi is known); in it one `ocr_carea` per block holding one
`ocr_par`, then `ocr_line` and `ocrx_word` elements, each with its `bbox` in the page's
pixels and the words with `x_wconf` (confidence 0-100). A figure region without text is
an `ocr_photo`. Blocks, lines and words come from `pipeline.writers.words` (word boxes
derived from the line boxes; CJK text one word per character). The document is built
with lxml, so text and attribute values are escaped as XML requires.
"""

from __future__ import annotations

from typing import BinaryIO

from lxml import etree

import pipeline
from pipeline.models import DocumentResult
from pipeline.writers.words import Box, PageLayout, page_layout

XHTML = "http://www.w3.org/1999/xhtml"
CAPABILITIES = "ocr_page ocr_carea ocr_par ocr_line ocrx_word ocr_photo ocrp_wconf"
FIGURE_KINDS = frozenset({"figure", "image", "illustration", "picture"})
_DOCTYPE = (
    '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
    '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">'
)


def _bbox(box: Box) -> str:
    return f"bbox {box.left} {box.top} {box.right} {box.bottom}"


def _quoted(value: str) -> str:
    """A title property value in double quotes (hOCR's `image "path"` form)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _element(parent: etree._Element, tag: str, cls: str, ident: str,
             title: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{XHTML}}}{tag}",
                            {"class": cls, "id": ident, "title": title})


def _page(body: etree._Element, page: PageLayout, image: str) -> None:
    number = page.index + 1
    title = f"image {_quoted(image)}; {_bbox(Box(0, 0, page.width, page.height))}; " \
            f"ppageno {page.index}"
    if page.dpi:
        title += f"; scan_res {round(page.dpi)} {round(page.dpi)}"
    node = _element(body, "div", "ocr_page", f"page_{number}", title)
    line_number = word_number = 0
    for b, block in enumerate(page.blocks, start=1):
        if not block.lines:
            if block.kind in FIGURE_KINDS:
                _element(node, "div", "ocr_photo", f"photo_{number}_{b}", _bbox(block.box))
            continue
        area = _element(node, "div", "ocr_carea", f"block_{number}_{b}", _bbox(block.box))
        par = _element(area, "p", "ocr_par", f"par_{number}_{b}",
                       _bbox(Box.around(line.box for line in block.lines)))
        for line in block.lines:
            line_number += 1
            row = _element(par, "span", "ocr_line", f"line_{number}_{line_number}",
                           f"{_bbox(line.box)}; x_size {line.box.height}")
            for word in line.words:
                word_number += 1
                span = _element(row, "span", "ocrx_word", f"word_{number}_{word_number}",
                                f"{_bbox(word.box)}; x_wconf {round(word.confidence * 100)}")
                span.text = word.text
                span.tail = " " if word.spaced else None
            if len(row):
                row[-1].tail = None


def write_hocr(doc: DocumentResult, out: BinaryIO) -> None:
    html = etree.Element(f"{{{XHTML}}}html", nsmap={None: XHTML})
    head = etree.SubElement(html, f"{{{XHTML}}}head")
    etree.SubElement(head, f"{{{XHTML}}}title").text = doc.source.key
    etree.SubElement(head, f"{{{XHTML}}}meta", {"http-equiv": "Content-Type",
                                                "content": "text/html;charset=utf-8"})
    meta = {
        "ocr-system": f"ocrpipe {pipeline.__version__}",
        "ocr-capabilities": CAPABILITIES,
        "ocr-number-of-pages": str(len(doc.pages)),
    }
    for name, content in meta.items():
        etree.SubElement(head, f"{{{XHTML}}}meta", {"name": name, "content": content})
    body = etree.SubElement(html, f"{{{XHTML}}}body")
    for page in doc.pages:
        _page(body, page_layout(page), doc.source.key)
    out.write(etree.tostring(html, xml_declaration=True, encoding="UTF-8",
                             doctype=_DOCTYPE, pretty_print=True))
