"""Pages as blocks, lines and words with boxes: the structure hOCR and ALTO write.

Our OCR answers with one block per printed line (RapidOCR, Huawei's general-text), so
words and their boxes are derived here:

- **Lines** come from `pipeline.layout` in the upright page's reading order (the same
  grouping as TXT and Word): one line holds the blocks that share a row.
- **Words**: a block's text is split at white space; CJK characters (and any East Asian
  wide or full-width character) are one word each, as Tesseract's chi_sim hOCR has them,
  so a search hit can be boxed. Each word's box is cut out of its block by walking the
  block's top and bottom edges (so slanted lines stay slanted) in proportion to the
  characters' advances (`pdf_font.char_width`, the searchable PDF's metrics), spaces
  included. Every word's confidence is its block's.
- **Blocks**: the page's layout regions where the result carries them
  (`PageResult.regions`, turned upright like the lines: a line goes to the region
  holding its centre; lines outside every region form blocks of their own); otherwise one block per
  paragraph of `layout.group_paragraphs` (split at vertical gaps).

Coordinates are integer pixels of the upright page at the resolution it was rendered or
decoded at (the image sent to OCR may have been scaled down to fit the API limits: its
boxes are scaled back). For a page that was not turned that is the source image itself.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pipeline.layout import Line, group_paragraphs
from pipeline.models import Block, OcrResult, PageResult, Quad, Region
from pipeline.upright import quarter_turns, reading_lines, to_upright
from pipeline.writers.pdf_font import char_width


@dataclass(frozen=True)
class Box:
    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    def clamped(self, width: int, height: int) -> Box:
        """The box cut to a page of `width` x `height` (OCR boxes may stick out a pixel)."""
        left, top = min(max(self.left, 0), width), min(max(self.top, 0), height)
        return Box(left, top, min(max(self.right, left), width),
                   min(max(self.bottom, top), height))

    def contains(self, other: Box) -> bool:
        return (self.left <= other.left and self.top <= other.top
                and other.right <= self.right and other.bottom <= self.bottom)

    @classmethod
    def around(cls, boxes: Iterable[Box]) -> Box:
        items = list(boxes)
        return cls(min(b.left for b in items), min(b.top for b in items),
                   max(b.right for b in items), max(b.bottom for b in items))

    @classmethod
    def of_points(cls, points: Iterable[tuple[float, float]]) -> Box:
        xs, ys = zip(*points, strict=True)
        return cls(round(min(xs)), round(min(ys)), round(max(xs)), round(max(ys)))


@dataclass(frozen=True)
class Word:
    text: str
    box: Box
    confidence: float
    spaced: bool = True
    """A space follows in the line (False between CJK characters written together)."""


@dataclass(frozen=True)
class TextLine:
    words: tuple[Word, ...]
    box: Box

    @property
    def text(self) -> str:
        return "".join(w.text + (" " if w.spaced else "") for w in self.words).rstrip()


@dataclass(frozen=True)
class TextBlock:
    lines: tuple[TextLine, ...]
    box: Box
    kind: str = "text"
    """The layout region's kind ("text", "title", "figure", ...); "text" without regions."""


@dataclass(frozen=True)
class PageLayout:
    index: int
    width: int
    height: int
    blocks: tuple[TextBlock, ...]
    dpi: float | None = None


def is_cjk(char: str) -> bool:
    """A character written without spaces between words: one word each."""
    return unicodedata.east_asian_width(char) in ("W", "F") and not char.isspace()


def split_words(text: str) -> list[tuple[str, int, int]]:
    """Words of `text` as (word, start, end) character offsets: runs between white
    space, each CJK character a word of its own."""
    words: list[tuple[str, int, int]] = []
    start: int | None = None
    for i, char in enumerate(text):
        if char.isspace() or is_cjk(char):
            if start is not None:
                words.append((text[start:i], start, i))
                start = None
            if is_cjk(char):
                words.append((char, i, i + 1))
        elif start is None:
            start = i
    if start is not None:
        words.append((text[start:], start, len(text)))
    return words


def _clockwise_from_top_left(box: Quad) -> Quad:
    """The quad's corners from its top-left one (a turned page moves the first corner)."""
    first = min(range(4), key=lambda i: (box[i][0] + box[i][1], box[i][0]))
    a, b, c, d = box[first:] + box[:first]
    return a, b, c, d


def _lerp(p: tuple[float, float], q: tuple[float, float], t: float) -> tuple[float, float]:
    return p[0] + (q[0] - p[0]) * t, p[1] + (q[1] - p[1]) * t


def block_words(block: Block, scale: float = 1.0) -> list[Word]:
    """The words of one OCR block, each boxed along the block's top and bottom edges."""
    text = block.text
    words = split_words(text)
    if not words:
        return []
    tl, tr, br, bl = ((x * scale, y * scale) for x, y in _clockwise_from_top_left(block.box))
    advances = [char_width(c) for c in text]
    total = float(sum(advances)) or 1.0
    offsets = [0.0]
    for advance in advances:
        offsets.append(offsets[-1] + advance)
    result = []
    for word, start, end in words:
        t0, t1 = offsets[start] / total, offsets[end] / total
        corners = (_lerp(tl, tr, t0), _lerp(tl, tr, t1), _lerp(bl, br, t1), _lerp(bl, br, t0))
        spaced = end == len(text) or text[end].isspace()
        result.append(Word(word, Box.of_points(corners), block.confidence, spaced))
    return result


def _text_line(line: Line, scale: float, width: int, height: int) -> TextLine | None:
    words = tuple(
        Word(w.text, w.box.clamped(width, height), w.confidence, w.spaced)
        for block in line.blocks for w in block_words(block, scale)
    )
    if not words:
        return None
    return TextLine(words, Box.around(w.box for w in words))


def _region_box(region: Region, scale: float, result: OcrResult) -> Box:
    """A layout region's box (in the pixels of the image sent) in the upright page,
    scaled like the words."""
    turn = quarter_turns(result.direction)
    left, top, right, bottom = region.box
    corners = [to_upright((x, y), turn, result.width, result.height)
               for x, y in ((left, top), (right, bottom))]
    return Box.of_points((x * scale, y * scale) for x, y in corners)


def _blocks_by_regions(lines: list[TextLine], regions: Sequence[Region], scale: float,
                       result: OcrResult, width: int, height: int) -> list[TextBlock]:
    boxes = [_region_box(r, scale, result).clamped(width, height) for r in regions]
    members: list[list[TextLine]] = [[] for _ in regions]
    loose: list[TextLine] = []
    for line in lines:
        cx = (line.box.left + line.box.right) / 2
        cy = (line.box.top + line.box.bottom) / 2
        for i, box in enumerate(boxes):
            if box.left <= cx <= box.right and box.top <= cy <= box.bottom:
                members[i].append(line)
                break
        else:
            loose.append(line)
    blocks = []
    for region, box, held in zip(regions, boxes, members, strict=True):
        around = Box.around([box, *(line.box for line in held)])
        blocks.append(TextBlock(tuple(held), around, region.kind))
    blocks += [TextBlock((line,), line.box) for line in loose]
    return blocks


def page_layout(page: PageResult) -> PageLayout:
    """One page as blocks of lines of words, in the upright page's reading order."""
    result = page.result
    geometry = page.geometry
    scale = 1.0
    if geometry is not None and geometry.image_width and result.width:
        scale = geometry.source_width / geometry.image_width
    width, height = max(round(result.width * scale), 1), max(round(result.height * scale), 1)
    if quarter_turns(result.direction) in (90, 270):
        width, height = height, width
    layout_lines = reading_lines(result)
    regions = [r for r in page.regions or () if r.kind != "rule"]  # a table's lines
    if regions:
        lines = [t for line in layout_lines if (t := _text_line(line, scale, width, height))]
        blocks = _blocks_by_regions(lines, regions, scale, result, width, height)
    else:
        blocks = []
        for paragraph in group_paragraphs(layout_lines):
            held = tuple(
                t for line in paragraph if (t := _text_line(line, scale, width, height))
            )
            if held:
                blocks.append(TextBlock(held, Box.around(line.box for line in held)))
    dpi = geometry.dpi if geometry is not None else None
    return PageLayout(page.index, width, height, tuple(blocks), dpi)
