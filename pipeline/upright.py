"""Reading order in the upright page's frame.

With `detect_direction` the service reads a turned page upright, but returns boxes in
the pixels of the image as sent (protocol.md). Grouping those boxes into lines top to
bottom reads a page turned by 180 degrees backwards, and one turned by 90 or 270
degrees column-wise. `upright_blocks` maps each box into the upright page (turned
clockwise by `direction`), where `pipeline.layout` reads as a person would;
`reading_order` gives the blocks as sent, in that order, for the searchable PDF.
"""

from __future__ import annotations

from pipeline.layout import Line, group_lines
from pipeline.models import Block, OcrResult, Point, Quad


def quarter_turns(direction: float) -> int:
    """0, 90, 180 or 270 from the service's `direction` (-1: not detected -> 0)."""
    if direction < 0:
        return 0
    return round(direction / 90.0) % 4 * 90


def to_upright(point: Point, direction: int, width: int, height: int) -> Point:
    """A point of the image as sent (`width` x `height`) in the upright page."""
    x, y = point
    if direction == 90:
        return height - y, x
    if direction == 180:
        return width - x, height - y
    if direction == 270:
        return y, width - x
    return x, y


def upright_blocks(result: OcrResult) -> tuple[Block, ...]:
    turn = quarter_turns(result.direction)
    if turn == 0:
        return result.blocks
    def turned(box: Quad) -> Quad:
        a, b, c, d = (to_upright(p, turn, result.width, result.height) for p in box)
        return a, b, c, d

    return tuple(Block(block.text, turned(block.box), block.confidence) for block in result.blocks)


def reading_lines(result: OcrResult) -> list[Line]:
    """The page's lines in reading order (boxes in the upright frame)."""
    return group_lines(upright_blocks(result))


WORD_GAP = 0.3
"""The least gap between two blocks of a line, in line heights, that text extractors
(poppler's pdftotext) read as a space; closer blocks are set a little narrower."""


_FIRST_CORNER = {0: 0, 90: 3, 180: 2, 270: 1}
"""Which corner of a box listed clockwise from its top-left in the image as sent is the
top-left of the text, on a page turned by 0, 90, 180, 270 degrees."""


def text_ordered(box: Quad, turn: int) -> Quad:
    """The box's corners from the text's own top-left, clockwise (baseline p3 -> p2).
    The service lists them from the top-left of the image as sent, which on a turned
    page is another corner of the text; a box already in text order is kept."""
    first = _FIRST_CORNER[turn]
    if first == 0 or box[0] != min(box, key=lambda p: (p[0] + p[1], p[0])):
        return box
    a, b, c, d = box[first:] + box[:first]
    return a, b, c, d


def reading_order(result: OcrResult) -> list[list[tuple[Block, float]]]:
    """The blocks as sent (their own points, corners in text order), line by line in
    the upright page's reading order, each with the share of its box's width its text
    should fill: 1.0, or less where the next block of the line starts too close for a
    word break."""
    turn = quarter_turns(result.direction)
    turned = upright_blocks(result)
    original = {id(t): b for t, b in zip(turned, result.blocks, strict=True)}
    lines = []
    for line in group_lines(turned):
        placed = []
        for block, following in zip(line.blocks, [*line.blocks[1:], None], strict=True):
            sent = original[id(block)]
            oriented = Block(sent.text, text_ordered(sent.box, turn), sent.confidence)
            placed.append((oriented, _fill(block, following)))
        lines.append(placed)
    return lines


def _fill(block: Block, following: Block | None) -> float:
    if following is None:
        return 1.0
    left, right = min(x for x, _ in block.box), max(x for x, _ in block.box)
    height = max(y for _, y in block.box) - min(y for _, y in block.box)
    start = min(x for x, _ in following.box)
    gap, width = start - right, right - left
    short = WORD_GAP * height - gap
    if short <= 0 or width <= 0 or start < left + width / 2:
        return 1.0  # apart enough, or not the next block along this line (slanted lines)
    return max(0.7, (width - short) / width)
