"""Reading order: OCR blocks grouped into lines, lines into paragraphs.

One function for every writer (TXT now, Word later), so all formats read the same.
Blocks whose vertical centres fall within half a line height of each other form a
line (left to right); lines go top to bottom; a vertical gap larger than
`paragraph_gap` line heights starts a new paragraph.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pipeline.models import Block


@dataclass(frozen=True)
class Line:
    blocks: tuple[Block, ...]
    top: float
    bottom: float

    @property
    def text(self) -> str:
        return " ".join(b.text.strip() for b in self.blocks if b.text.strip())


def _extent(block: Block) -> tuple[float, float, float]:
    """(top, bottom, left) of a block's box."""
    ys = [y for _, y in block.box]
    xs = [x for x, _ in block.box]
    return min(ys), max(ys), min(xs)


def group_lines(blocks: Iterable[Block]) -> list[Line]:
    """Blocks into lines, top to bottom; each line's blocks left to right."""
    rows: list[list[tuple[float, float, float, Block]]] = []
    for block in sorted(blocks, key=lambda b: (_extent(b)[0] + _extent(b)[1]) / 2):
        top, bottom, left = _extent(block)
        centre, height = (top + bottom) / 2, max(bottom - top, 1.0)
        if rows:
            row = rows[-1]
            row_top = min(r[0] for r in row)
            row_bottom = max(r[1] for r in row)
            row_centre, row_height = (row_top + row_bottom) / 2, max(row_bottom - row_top, 1.0)
            if abs(centre - row_centre) <= min(height, row_height) / 2:
                row.append((top, bottom, left, block))
                continue
        rows.append([(top, bottom, left, block)])
    return [
        Line(
            blocks=tuple(item[3] for item in sorted(row, key=lambda r: r[2])),
            top=min(r[0] for r in row),
            bottom=max(r[1] for r in row),
        )
        for row in rows
    ]


def group_paragraphs(lines: list[Line], paragraph_gap: float = 1.2) -> list[list[Line]]:
    """Consecutive lines split where the gap exceeds `paragraph_gap` line heights."""
    paragraphs: list[list[Line]] = []
    for line in lines:
        if paragraphs:
            previous = paragraphs[-1][-1]
            height = max(previous.bottom - previous.top, line.bottom - line.top, 1.0)
            if line.top - previous.bottom <= paragraph_gap * height:
                paragraphs[-1].append(line)
                continue
        paragraphs.append([line])
    return paragraphs


def page_text(blocks: Iterable[Block]) -> str:
    """A page as text: lines in reading order, a blank line between paragraphs."""
    paragraphs = group_paragraphs(group_lines(blocks))
    return "\n\n".join("\n".join(line.text for line in para) for para in paragraphs)
