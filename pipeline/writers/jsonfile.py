"""JSON: every block with its box and confidence, per page, so any format can be rebuilt."""

from __future__ import annotations

import json

from pipeline.models import DocumentResult, page_to_dict

SCHEMA_VERSION = 1


def render_json(doc: DocumentResult) -> bytes:
    body = {
        "schema": SCHEMA_VERSION,
        "source": {"key": doc.source.key, "size": doc.source.size},
        "page_count": len(doc.pages),
        "pages": [page_to_dict(p) for p in doc.pages],
    }
    return json.dumps(body, ensure_ascii=False, indent=1).encode("utf-8")
