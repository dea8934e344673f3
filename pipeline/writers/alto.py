"""ALTO 4: the OCR result as the XML that libraries and archives keep beside their scans.

`alto` > `Description` (MeasurementUnit `pixel`, the source key as fileName, ocrpipe as
the processing software) > `Layout` > one `Page` per page (PHYSICAL_IMG_NR from 1) >
`PrintSpace` (the whole page) > `TextBlock` > `TextLine` > `String` (CONTENT, WC the
confidence 0-1) with an `SP` between words. Every element has HPOS/VPOS/WIDTH/HEIGHT in
the page's pixels; a figure region without text is an `Illustration`. Blocks, lines and
words come from `pipeline.writers.words` (word boxes derived from the line boxes; CJK
text one String per character). Element order and attribute types follow the ALTO 4
schema (alto-4-2.xsd); tests check the output against the schema's rules.
"""

from __future__ import annotations

from typing import BinaryIO

from lxml import etree

import pipeline
from pipeline.models import DocumentResult
from pipeline.writers.hocr import FIGURE_KINDS
from pipeline.writers.words import Box, PageLayout, page_layout

ALTO = "http://www.loc.gov/standards/alto/ns-v4#"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA_LOCATION = f"{ALTO} http://www.loc.gov/alto/v4/alto-4-2.xsd"


def _tag(name: str) -> str:
    return f"{{{ALTO}}}{name}"


def _placed(parent: etree._Element, name: str, box: Box, **attributes: str) -> etree._Element:
    return etree.SubElement(parent, _tag(name), {
        **attributes,
        "HPOS": str(box.left), "VPOS": str(box.top),
        "WIDTH": str(box.width), "HEIGHT": str(box.height),
    })


def _description(root: etree._Element, image: str) -> None:
    description = etree.SubElement(root, _tag("Description"))
    etree.SubElement(description, _tag("MeasurementUnit")).text = "pixel"
    source = etree.SubElement(description, _tag("sourceImageInformation"))
    etree.SubElement(source, _tag("fileName")).text = image
    processing = etree.SubElement(description, _tag("Processing"), {"ID": "OCR_0"})
    software = etree.SubElement(processing, _tag("processingSoftware"))
    etree.SubElement(software, _tag("softwareName")).text = "ocrpipe"
    etree.SubElement(software, _tag("softwareVersion")).text = pipeline.__version__


def _page(layout: etree._Element, page: PageLayout) -> None:
    number = page.index + 1
    node = etree.SubElement(layout, _tag("Page"), {
        "ID": f"page_{number}", "PHYSICAL_IMG_NR": str(number),
        "WIDTH": str(page.width), "HEIGHT": str(page.height),
        "PROCESSINGREFS": "OCR_0",
    })
    space = _placed(node, "PrintSpace", Box(0, 0, page.width, page.height))
    line_number = word_number = 0
    for b, block in enumerate(page.blocks, start=1):
        if not block.lines:
            if block.kind in FIGURE_KINDS:
                _placed(space, "Illustration", block.box, ID=f"figure_{number}_{b}")
            continue
        text_block = _placed(space, "TextBlock", block.box, ID=f"block_{number}_{b}")
        for line in block.lines:
            line_number += 1
            row = _placed(text_block, "TextLine", line.box, ID=f"line_{number}_{line_number}")
            for w, word in enumerate(line.words):
                if w and line.words[w - 1].spaced:
                    before = line.words[w - 1].box
                    gap = Box(before.right, before.top, max(word.box.left, before.right),
                              before.bottom)
                    etree.SubElement(row, _tag("SP"), {
                        "HPOS": str(gap.left), "VPOS": str(gap.top), "WIDTH": str(gap.width),
                    })
                word_number += 1
                _placed(row, "String", word.box, ID=f"string_{number}_{word_number}",
                        CONTENT=word.text,
                        WC=f"{min(max(word.confidence, 0.0), 1.0):.3f}")


def write_alto(doc: DocumentResult, out: BinaryIO) -> None:
    root = etree.Element(_tag("alto"), {f"{{{XSI}}}schemaLocation": SCHEMA_LOCATION},
                         nsmap={None: ALTO, "xsi": XSI})
    _description(root, doc.source.key)
    layout = etree.SubElement(root, _tag("Layout"))
    for page in doc.pages:
        _page(layout, page_layout(page))
    out.write(etree.tostring(root, xml_declaration=True, encoding="UTF-8",
                             pretty_print=True))
