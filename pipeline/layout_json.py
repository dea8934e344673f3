"""A page's paragraphs in the JSON result: for users without our code, and for export.

Search indexes and language-model pipelines want paragraphs, headings and tables, not
OCR lines; and `ocrpipe export` must rebuild the Word and Markdown a run wrote, even
after a later ocrpipe reads layouts differently. So the `.json` result carries, per page,
`paragraphs`: the page's parts in reading order, as every writer saw them
(`running_heads.document_layout`: running heads marked, heading levels judged over the
whole document). Each is an object:

    kind      paragraph | title | caption | table | figure | header | footer | equation
    text      its text: lines joined (hyphenation undone); a table's or figure's lines
              one per line
    bbox      [left, top, right, bottom] in pixels of the upright page: the image sent
              to OCR, turned by the page's `direction`
    lines     [[i, ...], ...]: each line's OCR blocks, as indices into the page's `blocks`
    height    the text height in those pixels (Word's font size comes from it)
    level     titles only: 1 (largest) to 3, the same across the whole document
    rows      tables only: cell texts row by row; `merges`: [row, column, rows, columns]
              of each cell spanning others
    band, column, columns   where it stands: band `band` of the page (top to bottom)
              has `columns` columns; it is in column `column`

`stored_layouts` reads them back (every page must have them, else all are computed, as
for a result written before they existed); `ValueError` names what is wrong.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Mapping, Sequence
from typing import get_args

from pipeline.layout import Line
from pipeline.models import Block, DocumentResult, PageResult
from pipeline.page_layout import PageLayout, Paragraph, ParagraphKind, block_box
from pipeline.upright import quarter_turns, upright_blocks

_NAMES: dict[ParagraphKind, str] = {"text": "paragraph"}
_KINDS: dict[str, ParagraphKind] = {
    _NAMES.get(kind, kind): kind for kind in get_args(ParagraphKind)
}


def paragraphs_json(layout: PageLayout, page: PageResult) -> list[dict[str, object]]:
    """The page's paragraphs as the JSON result holds them."""
    where: dict[Block, deque[int]] = defaultdict(deque)
    for number, block in enumerate(upright_blocks(page.result)):
        where[block].append(number)
    out = []
    for paragraph in layout.paragraphs:
        item: dict[str, object] = {
            "kind": _NAMES.get(paragraph.kind, paragraph.kind),
            "text": paragraph.text,
            "bbox": list(paragraph.box),
            "lines": [[where[b].popleft() for b in line.blocks if where[b]]
                      for line in paragraph.lines],
            "height": paragraph.line_height,
        }
        if paragraph.kind == "title":
            item["level"] = paragraph.level
        if paragraph.kind == "table":
            item["rows"] = [list(row) for row in paragraph.rows]
            item["merges"] = [list(m) for m in paragraph.merges]
            if paragraph.widths:
                item["widths"] = [round(w, 1) for w in paragraph.widths]
        item.update(band=paragraph.band, column=paragraph.column, columns=paragraph.columns)
        out.append(item)
    return out


def stored_layouts(doc: DocumentResult) -> list[PageLayout] | None:
    """Every page's layout as its JSON result stored it; None when a page has none."""
    if not doc.pages or any(page.paragraphs is None for page in doc.pages):
        return None
    return [stored_layout(page) for page in doc.pages]


def stored_layout(page: PageResult) -> PageLayout:
    """One page's stored paragraphs as a `PageLayout`; ValueError if they are malformed."""
    result = page.result
    turned = quarter_turns(result.direction) in (90, 270)
    width, height = (result.height, result.width) if turned else (result.width, result.height)
    blocks = upright_blocks(result)
    paragraphs = []
    for number, item in enumerate(page.paragraphs or (), start=1):
        try:
            paragraphs.append(_paragraph(item, blocks))
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ValueError(
                f"page {page.index + 1}, paragraph {number}: {_why(exc)} (see the JSON "
                "shape in README.md; remove `paragraphs` to have them computed again)"
            ) from None
    return PageLayout(page.index, width, height, tuple(paragraphs))


def _why(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"no {exc.args[0]!r}"
    return str(exc) or type(exc).__name__


def _paragraph(item: Mapping[str, object], blocks: Sequence[Block]) -> Paragraph:
    if not isinstance(item, Mapping):
        raise TypeError("not an object")
    kind = _KINDS.get(str(item["kind"]))
    if kind is None:
        raise ValueError(f"unknown kind {item['kind']!r}: one of {', '.join(_KINDS)}")
    left, top, right, bottom = (_number(v, "bbox") for v in _list(item["bbox"], "bbox"))
    lines = []
    for line in _list(item.get("lines", []), "lines"):
        found = []
        for i in _list(line, "a line"):
            if not isinstance(i, int) or not 0 <= i < len(blocks):
                raise IndexError(f"block {i!r} is not one of the page's {len(blocks)} blocks")
            found.append(blocks[i])
        if found:
            boxes = [block_box(b) for b in found]
            lines.append(Line(tuple(found), min(b[1] for b in boxes), max(b[3] for b in boxes)))
    rows = tuple(tuple(str(c) for c in _list(row, "a row"))
                 for row in _list(item.get("rows", []), "rows"))
    merges = []
    for merge in _list(item.get("merges", []), "merges"):
        r, c, h, w = (int(_number(v, "a merge")) for v in _list(merge, "a merge"))
        merges.append((r, c, h, w))
    return Paragraph(
        kind, str(item.get("text", "")), (left, top, right, bottom), tuple(lines),
        _number(item.get("height", 0.0), "height"),
        int(_number(item.get("level", 1), "level")) if kind == "title" else 0,
        rows, tuple(merges),
        tuple(_number(w, "widths") for w in _list(item.get("widths", []), "widths")),
        int(_number(item.get("band", 0), "band")),
        int(_number(item.get("column", 0), "column")),
        max(int(_number(item.get("columns", 1), "columns")), 1),
    )


def _number(value: object, name: str) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise TypeError(f"{name} holds {value!r}, not a number")
    return float(value)


def _list(value: object, name: str) -> list[object]:
    if not isinstance(value, list):
        raise TypeError(f"{name} is not a list")
    return value
