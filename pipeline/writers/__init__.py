"""Output formats. Each writer turns a DocumentResult into the bytes of one file."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pipeline.models import DocumentResult
from pipeline.writers.jsonfile import render_json
from pipeline.writers.txt import render_txt


@dataclass(frozen=True)
class Writer:
    suffix: str
    content_type: str
    render: Callable[[DocumentResult], bytes]


WRITERS: dict[str, Writer] = {
    "txt": Writer(".txt", "text/plain; charset=utf-8", render_txt),
    "json": Writer(".json", "application/json", render_json),
}


def output_key(source_key: str, fmt: str) -> str:
    """scans/a.pdf -> scans/a.pdf.txt: the extension stays, so a.pdf and a.png never clash."""
    return source_key + WRITERS[fmt].suffix
