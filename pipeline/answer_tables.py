"""Tables in a page's OCR answer, and where they sit in the page's reading order.

`general-table` answers regions of type "table" whose blocks are cells (`rows` and
`columns`: the 0-based rows and columns each cell spans); `smart-document-recognizer`
(with `table = true`) answers `table_result.table_list`, each table with its `location`
and its cells likewise. The OCR client keeps such an answer as the result's `raw`;
`tables_of` reads the tables back from it; `pipeline.page_layout` puts each one in its
place in the page's reading order, as a table region whose cells are the answer's (Word
and Markdown write it as a table, spanning cells merged).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pipeline.models import OcrResult

Box = tuple[float, float, float, float]
"""left, top, right, bottom, in the pixels of the image sent."""


@dataclass(frozen=True)
class TableCell:
    text: str
    row: int
    column: int
    row_span: int = 1
    column_span: int = 1


@dataclass(frozen=True)
class Table:
    cells: tuple[TableCell, ...]
    box: Box | None
    """Where the table is on the page; None when the answer gives no position."""

    @property
    def rows(self) -> int:
        return max((c.row + c.row_span for c in self.cells), default=0)

    @property
    def columns(self) -> int:
        return max((c.column + c.column_span for c in self.cells), default=0)

    def grid(self) -> list[list[str]]:
        """Rows of cell texts; a spanning cell's text in its top-left slot, "" elsewhere."""
        out = [["" for _ in range(self.columns)] for _ in range(self.rows)]
        for cell in self.cells:
            slot = out[cell.row][cell.column]
            out[cell.row][cell.column] = f"{slot} {cell.text}".strip() if slot else cell.text
        return out


def has_tables(raw: object) -> bool:
    return bool(_tables(raw))


def tables_of(result: OcrResult) -> tuple[Table, ...]:
    """The tables of a general-table or smart-document-recognizer answer (none else)."""
    return tuple(_tables(result.raw))


def _tables(raw: object) -> list[Table]:
    if isinstance(raw, Mapping) and isinstance(raw.get("words_region_list"), list):
        return [
            table for region in raw["words_region_list"]
            if isinstance(region, Mapping) and region.get("type") == "table"
            and (table := _table(region.get("words_block_list"), None)) is not None
        ]
    out: list[Table] = []
    for part in raw if isinstance(raw, list) else ():
        found = part.get("table_result") if isinstance(part, Mapping) else None
        listed = found.get("table_list") if isinstance(found, Mapping) else None
        for item in listed if isinstance(listed, list) else ():
            if isinstance(item, Mapping):
                table = _table(item.get("words_block_list"), _bounds([item.get("location")]))
                if table is not None:
                    out.append(table)
    return out


def _table(blocks: object, box: Box | None) -> Table | None:
    cells = []
    locations = []
    for block in blocks if isinstance(blocks, list) else ():
        if not isinstance(block, Mapping):
            continue
        rows, columns = _span(block.get("rows")), _span(block.get("columns"))
        if rows is None or columns is None:
            continue
        cells.append(TableCell(str(block.get("words") or "").strip(), rows[0], columns[0],
                               rows[1], columns[1]))
        locations += [block.get("cell_location"), block.get("location")]
    if not cells:
        return None
    return Table(tuple(cells), box or _bounds(locations))


def _span(value: object) -> tuple[int, int] | None:
    """(first, count) of a cell's `rows` or `columns` list."""
    if not isinstance(value, list) or not value:
        return None
    if not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 10_000
               for v in value):
        return None
    return min(value), max(value) - min(value) + 1


def _bounds(locations: Iterable[object]) -> Box | None:
    xs: list[float] = []
    ys: list[float] = []
    for location in locations:
        for point in location if isinstance(location, list) else ():
            if (isinstance(point, list) and len(point) == 2
                    and all(isinstance(v, int | float) for v in point)):
                xs.append(float(point[0]))
                ys.append(float(point[1]))
    return (min(xs), min(ys), max(xs), max(ys)) if xs else None
