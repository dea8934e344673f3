"""JSON: every block with its box and confidence, per page, so any format can be rebuilt;
and the page's paragraphs in reading order (`pipeline.layout_json`), for users who want
paragraphs, headings and tables without our code."""

from __future__ import annotations

import json
from typing import BinaryIO

from pipeline.layout_json import paragraphs_json
from pipeline.models import DocumentResult, page_to_dict
from pipeline.running_heads import document_layout

SCHEMA_VERSION = 2
"""2: pages carry `paragraphs`."""


def write_json(doc: DocumentResult, out: BinaryIO) -> None:
    body = {
        "schema": SCHEMA_VERSION,
        "source": {"key": doc.source.key, "size": doc.source.size},
        "page_count": len(doc.pages),
        "pages": [
            {**page_to_dict(page), "paragraphs": paragraphs_json(layout, page)}
            for page, layout in zip(doc.pages, document_layout(doc), strict=True)
        ],
    }
    out.write(json.dumps(body, ensure_ascii=False, indent=1).encode("utf-8"))
