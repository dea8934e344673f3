"""hOCR read back with lxml: the element tree, properties and box nesting of hOCR 1.2.

`read_hocr` parses a document into pages of blocks of lines of words (text, bbox,
x_wconf) and returns the problems found: the nesting ocr_page > ocr_carea > ocr_par >
ocr_line > ocrx_word, a `bbox` on every element, each box inside its parent's, ids
unique, `ppageno` and `image` on each page, and the capabilities the head declares.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

XHTML = "http://www.w3.org/1999/xhtml"
PARENT = {"ocr_carea": "ocr_page", "ocr_par": "ocr_carea", "ocr_line": "ocr_par",
          "ocrx_word": "ocr_line", "ocr_photo": "ocr_page"}
Bbox = tuple[int, int, int, int]


@dataclass
class HocrWord:
    text: str
    bbox: Bbox
    wconf: int


@dataclass
class HocrPage:
    bbox: Bbox
    ppageno: int
    image: str
    lines: list[list[HocrWord]] = field(default_factory=list)
    line_texts: list[str] = field(default_factory=list)
    """Each line's text as a reader gets it (the words and the spaces between them)."""
    blocks: list[Bbox] = field(default_factory=list)


def properties(title: str) -> dict[str, str]:
    """hOCR's `title` as name -> value ("bbox 0 0 9 9; x_wconf 95")."""
    found = {}
    for part in re.split(r";\s*(?=[a-z_]+\s)", title):
        name, _, value = part.strip().partition(" ")
        found[name] = value.strip()
    return found


def _bbox(value: str) -> Bbox:
    x0, y0, x1, y1 = (int(v) for v in value.split())
    return x0, y0, x1, y1


def _inside(inner: Bbox, outer: Bbox) -> bool:
    return (outer[0] <= inner[0] and outer[1] <= inner[1]
            and inner[2] <= outer[2] and inner[3] <= outer[3])


def read_hocr(data: bytes) -> tuple[list[HocrPage], list[str]]:
    problems: list[str] = []
    root = etree.fromstring(data)
    capabilities = set(root.xpath(
        "string(//x:meta[@name='ocr-capabilities']/@content)", namespaces={"x": XHTML}
    ).split())
    pages: list[HocrPage] = []
    ids: set[str] = set()
    for node in root.iter(etree.Element):
        cls = node.get("class")
        if not cls or not cls.startswith("ocr"):
            continue
        if cls not in capabilities:
            problems.append(f"{cls} used but not declared in ocr-capabilities")
        ident = node.get("id", "")
        if not ident or ident in ids:
            problems.append(f"{cls}: id {ident!r} missing or used twice")
        ids.add(ident)
        props = properties(node.get("title", ""))
        if "bbox" not in props:
            problems.append(f"{cls} {ident}: no bbox")
            continue
        bbox = _bbox(props["bbox"])
        if bbox[0] > bbox[2] or bbox[1] > bbox[3]:
            problems.append(f"{cls} {ident}: bbox {bbox} inverted")
        parent = node.getparent()
        if cls != "ocr_page":
            while parent is not None and not (parent.get("class") or "").startswith("ocr"):
                parent = parent.getparent()
            parent_cls = parent.get("class") if parent is not None else None
            if parent is None or parent_cls != PARENT[cls]:
                problems.append(f"{cls} {ident} inside {parent_cls}, not {PARENT[cls]}")
            else:
                outer = _bbox(properties(parent.get("title", "")).get("bbox", "0 0 0 0"))
                if not _inside(bbox, outer):
                    problems.append(f"{cls} {ident} {bbox} outside its {parent_cls} {outer}")
        if cls == "ocr_page":
            image = props.get("image", "")
            pages.append(HocrPage(bbox, int(props.get("ppageno", "-1")), image))
            if "ppageno" not in props or not image.startswith('"'):
                problems.append(f"page {ident}: ppageno or image missing")
        elif cls in ("ocr_carea", "ocr_photo"):
            pages[-1].blocks.append(bbox)
        elif cls == "ocr_line":
            pages[-1].lines.append([])
            pages[-1].line_texts.append("".join(node.itertext()).strip())
        elif cls == "ocrx_word":
            wconf = int(props.get("x_wconf", "-1"))
            if not 0 <= wconf <= 100:
                problems.append(f"word {ident}: x_wconf {wconf}")
            pages[-1].lines[-1].append(HocrWord(node.text or "", bbox, wconf))
    return pages, problems


