"""Lines into paragraphs, and paragraphs into text.

    layout.py        blocks into lines (rows), in reading order
    paragraphs.py    lines into paragraphs; a paragraph's text (this module)
    page_layout.py   a page's paragraphs: layout regions, reading order, headings, tables

A new paragraph starts where the vertical gap between two lines is clearly wider than
the usual leading, where the line height changes, where a line is indented after a
line that was not (a first-line indent), where the line before ended short with the end
of a sentence (any short line between lines mostly of Chinese or Japanese: it is set
justified, so only a paragraph's last line ends short), where centred lines meet
left-aligned ones, or where a line opens with a list bullet (or, after an item that
opened with one, with the same bracket: 【...】 items of Chinese reports). Heights are
compared between lines of one script only (a Latin line's box, with its ascenders and
descenders, is taller than a CJK line's of the same type). Lines are joined with a
space; a word hyphenated across a line end is rejoined ("recog-" + "nised" -> "recognised"),
and Chinese, Japanese or Korean text is joined without a space.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from statistics import median

from pipeline.layout import Line

GAP_OVER_LEADING = 0.6
"""A gap this many line heights wider than the usual one between lines starts a paragraph."""
LONE_GAP = 0.75
"""With no usual gap to compare (two lines), a gap of this many line heights (lines of
one paragraph are set closer: a third to a half of a line apart)."""
INDENT = 0.8
"""A first line indented by this many line heights (after an unindented line)..."""
MAX_INDENT = 4.0
"""...and by no more than this many (further in, the lines below a name or a label)."""
SHORT_LINE = 3.0
"""A line ending this many line heights before the right edge is short."""
HEIGHT_CHANGE = 0.3
"""Lines differing in height by this share belong to different paragraphs."""
CJK_SHORT = 2.0
"""A line of CJK text ending this many line heights before the right edge is short."""
BULLETS = "\u2022\u00b7\u25aa\u25a0\u25cf\u25c6\u25c7\u25cb\u25a1\u25ba\u25b6\u27a2\u2713-\u2013*"
"""Characters that open a list item (followed by a space, or by CJK text)."""
ITEM_BRACKETS = "\u3010[\uff3b"
"""Brackets that open each item of a list when its first item opens with one."""
SENTENCE_END = tuple(".!?:;\u3002\uff01\uff1f\uff1a\uff1b\"\u201d\u300d)")


@dataclass(frozen=True)
class Edges:
    left: float
    right: float


def line_left(line: Line) -> float:
    return min(min(x for x, _ in b.box) for b in line.blocks)


def line_right(line: Line) -> float:
    return max(max(x for x, _ in b.box) for b in line.blocks)


def line_height(line: Line) -> float:
    return max(line.bottom - line.top, 1.0)


def split_paragraphs(lines: Sequence[Line]) -> list[list[Line]]:
    """Consecutive lines (one column, top to bottom) split into paragraphs."""
    if not lines:
        return []
    edges = Edges(min(line_left(x) for x in lines), max(line_right(x) for x in lines))
    gaps = [b.top - a.bottom for a, b in pairwise(lines)]
    usual = median(gaps) if len(gaps) >= 2 else None
    paragraphs: list[list[Line]] = [[lines[0]]]
    for (previous, line), gap in zip(pairwise(lines), gaps, strict=True):
        if _starts_paragraph(previous, line, gap, usual, edges, paragraphs[-1][0]):
            paragraphs.append([line])
        else:
            paragraphs[-1].append(line)
    return paragraphs


def _starts_paragraph(
    previous: Line, line: Line, gap: float, usual: float | None, edges: Edges, first: Line
) -> bool:
    height = max(line_height(previous), line_height(line))
    if line.top < previous.top - 0.5 * height:
        return True  # reading went back up: another column
    if usual is not None and gap > max(usual, 0.0) + GAP_OVER_LEADING * height:
        return True
    if usual is None and gap > LONE_GAP * height:
        return True
    if (abs(line_height(previous) - line_height(line)) > HEIGHT_CHANGE * height
            and _mostly_cjk(previous.text) == _mostly_cjk(line.text)):
        return True
    if _opens_item(line.text, first):
        return True
    indent = line_left(line) - edges.left
    if (INDENT * height < indent <= MAX_INDENT * height
            and line_left(previous) - edges.left < 0.4 * height
            and not _opens_item(previous.text, first)):  # not the hanging indent of an item
        return True
    if _centred(previous, edges, height) != _centred(line, edges, height):
        return True
    ending = previous.text.rstrip()
    if (_mostly_cjk(previous.text) and _mostly_cjk(line.text)
            and edges.right - line_right(previous) > CJK_SHORT * height):
        return True
    short = edges.right - line_right(previous) > SHORT_LINE * height
    return short and ending.endswith(SENTENCE_END)


def _mostly_cjk(text: str) -> bool:
    chars = [c for c in text if not c.isspace()]
    return sum(is_cjk(c) for c in chars) * 2 > len(chars)


def _opens_item(text: str, first: Line) -> bool:
    """The line opens a list item: a bullet and a space (or CJK text), or the bracket
    the paragraph's first line opened with."""
    text = text.lstrip()
    if len(text) < 2:
        return False
    if text[0] in BULLETS and (text[1] == " " or is_cjk(text[1])):
        return True
    return text[0] in ITEM_BRACKETS and first.text.lstrip().startswith(text[0])


def _centred(line: Line, edges: Edges, height: float) -> bool:
    left, right = line_left(line) - edges.left, edges.right - line_right(line)
    return left > 2 * height and right > 2 * height and abs(left - right) < 1.5 * height


def is_cjk(char: str) -> bool:
    """A Chinese, Japanese or Korean character (or CJK punctuation): no spaces around."""
    if not char:
        return False
    name = unicodedata.name(char, "")
    return name.startswith(("CJK", "HIRAGANA", "KATAKANA", "HANGUL", "FULLWIDTH", "IDEOGRAPHIC"))


_HYPHENATED = re.compile(r"[^\W\d_]-$")


def joint(before: str, after: str) -> tuple[str, str]:
    """How two pieces of a paragraph meet: `before` (its hyphen dropped where a word was
    split across the line end) and what goes between them ("", or a space)."""
    if not before or not after:
        return before, ""
    if _HYPHENATED.search(before) and after[0].islower():
        return before[:-1], ""
    if is_cjk(before[-1]) or is_cjk(after[0]):
        return before, ""
    return before, " "


def join_lines(texts: Sequence[str]) -> str:
    """Lines of one paragraph as one string: hyphenated words rejoined, CJK unspaced."""
    joined = ""
    for text in (t.strip() for t in texts):
        if text:
            joined, space = joint(joined, text)
            joined += space + text
    return joined
