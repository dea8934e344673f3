"""JSON: every block with its box and confidence, per page, so any format can be rebuilt."""

from __future__ import annotations

import json
from typing import BinaryIO

from pipeline.models import DocumentResult, page_to_dict

SCHEMA_VERSION = 1


def write_json(doc: DocumentResult, out: BinaryIO) -> None:
    body = {
        "schema": SCHEMA_VERSION,
        "source": {"key": doc.source.key, "size": doc.source.size},
        "page_count": len(doc.pages),
        "pages": [page_to_dict(p) for p in doc.pages],
    }
    out.write(json.dumps(body, ensure_ascii=False, indent=1).encode("utf-8"))
