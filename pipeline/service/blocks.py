"""Text blocks as the service returns them, put in reading order.

Reading order is the project's one reading order (`pipeline.layout`): columns first,
then top to bottom, left to right within a line.
The markdown form (`return_markdown_result`) joins the blocks of one line with a tab and
the lines with a newline, as protocol.md describes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pipeline.layout import group_lines as layout_lines
from pipeline.models import Block, Point, Quad

Corner = Point
Corners = Quad


@dataclass(frozen=True)
class CharBox:
    """One character of a line (`character_mode`): the char, its corners, its score."""

    char: str
    location: Corners
    confidence: float

    def as_json(self) -> dict[str, object]:
        return {
            "char": self.char,
            "char_location": [list(corner) for corner in self.location],
            "char_confidence": self.confidence,
        }


@dataclass(frozen=True)
class TextBlock:
    """One recognised line: text, four integer corners clockwise from top-left, score,
    and its characters when asked for."""

    words: str
    location: Corners
    confidence: float
    chars: tuple[CharBox, ...] = ()

    @property
    def top(self) -> int:
        return min(y for _, y in self.location)

    @property
    def bottom(self) -> int:
        return max(y for _, y in self.location)

    @property
    def left(self) -> int:
        return min(x for x, _ in self.location)

    def as_json(self, *, with_chars: bool = False) -> dict[str, object]:
        body: dict[str, object] = {
            "words": self.words,
            "location": [list(corner) for corner in self.location],
            "confidence": self.confidence,
        }
        if with_chars:
            body["char_list"] = [char.as_json() for char in self.chars]
        return body


def to_corners(points: Sequence[Sequence[float]]) -> Corners:
    """Round four (x, y) points to ints, ordered clockwise starting at the top-left one."""
    if len(points) != 4:
        raise ValueError(f"a text box needs 4 corners, got {len(points)}")
    pts = [(round(float(x)), round(float(y))) for x, y in points]
    cx = sum(x for x, _ in pts) / 4
    cy = sum(y for _, y in pts) / 4
    # Clockwise on screen (y grows downwards) is increasing atan2 angle.
    pts.sort(key=lambda p: math.atan2(p[1] - cy, p[0] - cx))
    start = min(range(4), key=lambda i: (pts[i][0] + pts[i][1], pts[i][0]))
    ordered = pts[start:] + pts[:start]
    return (ordered[0], ordered[1], ordered[2], ordered[3])


def group_lines(blocks: Iterable[TextBlock]) -> list[list[TextBlock]]:
    """Blocks grouped into lines in reading order (columns first), as the writers read
    them: one reading-order function for the whole project (`pipeline.layout`)."""
    originals: dict[int, TextBlock] = {}
    converted: list[Block] = []
    for text_block in blocks:
        block = Block(text_block.words, text_block.location, text_block.confidence)
        originals[id(block)] = text_block
        converted.append(block)
    return [[originals[id(b)] for b in line.blocks] for line in layout_lines(converted)]


def reading_order(blocks: Iterable[TextBlock]) -> list[TextBlock]:
    return [block for line in group_lines(blocks) for block in line]


def to_markdown(blocks: Iterable[TextBlock]) -> str:
    return "\n".join("\t".join(b.words for b in line) for line in group_lines(blocks))


def scale_blocks(
    blocks: Iterable[TextBlock], sx: float, sy: float
) -> tuple[TextBlock, ...]:
    """`blocks` with every corner scaled by (sx, sy): from the pixels of a page recognised
    at a reduced size to those of the page as sent."""

    def scaled(corners: Corners) -> Corners:
        return to_corners([(x * sx, y * sy) for x, y in corners])

    return tuple(
        TextBlock(
            block.words,
            scaled(block.location),
            block.confidence,
            tuple(CharBox(c.char, scaled(c.location), c.confidence) for c in block.chars),
        )
        for block in blocks
    )
