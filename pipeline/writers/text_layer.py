"""A page's own text, before ocrpipe adds its invisible layer (OCRmyPDF's redo idea).

A PDF page can arrive with text already: printed text (a born-digital page, or vector
text on a scan) or an invisible OCR layer from an earlier run of some OCR tool. Adding
ocrpipe's layer on top would make every word extract twice. The rule:

- visible text on the page: the page keeps its own text layer and gets no second one;
- only invisible text (render mode 3, an earlier OCR): that text is removed, and the
  page gets ocrpipe's layer instead (the new recognition replaces the old one);
- no text: the page gets ocrpipe's layer.

Text is found in the page's content streams and in the Form XObjects they draw (where
OCR tools often put their layer), following `q`/`Q` and `Tr`. Removing invisible text
rewrites only the text-showing operators drawn in render mode 3; nothing visible moves.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import pikepdf

ExistingText = Literal["none", "invisible", "visible"]
_SHOW = frozenset({"Tj", "TJ", "'", '"'})
_INVISIBLE = 3
_MAX_DEPTH = 8


def _streams(owner: pikepdf.Object, depth: int = 0) -> Iterator[pikepdf.Object]:
    """`owner`'s content streams, then its Form XObjects' (each once, not too deep)."""
    if depth > _MAX_DEPTH:
        return
    if depth == 0:
        contents = owner.get("/Contents")
        if isinstance(contents, pikepdf.Array):
            yield from (c for c in contents if isinstance(c, pikepdf.Stream))
        elif isinstance(contents, pikepdf.Stream):
            yield contents
    else:
        yield owner
    resources = owner.get("/Resources")
    xobjects = resources.get("/XObject") if isinstance(resources, pikepdf.Dictionary) else None
    if not isinstance(xobjects, pikepdf.Dictionary):
        return
    for _name, xobject in xobjects.items():
        if isinstance(xobject, pikepdf.Stream) and xobject.get("/Subtype") == "/Form":
            yield from _streams(xobject, depth + 1)


def _shown_text_modes(stream: pikepdf.Object) -> Iterator[tuple[int, int]]:
    """(index of the operator, render mode) for every text-showing operator."""
    modes = [0]
    for index, instruction in enumerate(pikepdf.parse_content_stream(stream)):
        operands, name = instruction.operands, str(instruction.operator)
        if name == "q":
            modes.append(modes[-1])
        elif name == "Q" and len(modes) > 1:
            modes.pop()
        elif name == "Tr" and operands:
            modes[-1] = int(operands[0])
        elif name in _SHOW:
            yield index, modes[-1]


def existing_text(page: pikepdf.Page) -> ExistingText:
    """What text the page already has: none, invisible only, or some visible."""
    found: ExistingText = "none"
    for stream in _unique(_streams(page.obj)):
        for _index, mode in _shown_text_modes(stream):
            if mode != _INVISIBLE:
                return "visible"
            found = "invisible"
    return found


def remove_invisible_text(page: pikepdf.Page, *, visible_too: bool = False) -> int:
    """Drop every text-showing operator drawn in render mode 3 (every one with
    `visible_too`); how many were dropped."""
    removed = 0
    for stream in _unique(_streams(page.obj)):
        invisible = {index for index, mode in _shown_text_modes(stream)
                     if visible_too or mode == _INVISIBLE}
        if not invisible:
            continue
        kept = [op for index, op in enumerate(pikepdf.parse_content_stream(stream))
                if index not in invisible]
        stream.write(pikepdf.unparse_content_stream(kept))
        removed += len(invisible)
    return removed


def _unique(streams: Iterator[pikepdf.Object]) -> Iterator[pikepdf.Object]:
    seen: set[tuple[int, int]] = set()
    for stream in streams:
        key = stream.objgen
        if key != (0, 0) and key in seen:
            continue
        seen.add(key)
        yield stream
