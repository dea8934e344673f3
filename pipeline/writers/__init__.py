"""Output formats. Each writer turns a DocumentResult into the bytes of one file.

`Writer.render(doc, source_path, options)`: `source_path` is a local copy of the original
document (the searchable PDF is built on it; the other formats ignore it, and it may be
None for them), `options` the job's output settings. Writers only produce bytes; the
storage writes them (atomically).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pipeline.models import DocumentResult
from pipeline.writers.docx import render_docx
from pipeline.writers.jsonfile import render_json
from pipeline.writers.options import WriteOptions
from pipeline.writers.pdf import render_pdf
from pipeline.writers.txt import render_txt

__all__ = ["WRITERS", "WriteOptions", "Writer", "output_key"]

Render = Callable[[DocumentResult, str | None, WriteOptions], bytes]


@dataclass(frozen=True)
class Writer:
    suffix: str
    content_type: str
    render: Render
    needs_source: bool = False
    """True when `render` needs the original document's path."""


WRITERS: dict[str, Writer] = {
    "txt": Writer(".txt", "text/plain; charset=utf-8", lambda doc, _path, _opts: render_txt(doc)),
    "json": Writer(".json", "application/json", lambda doc, _path, _opts: render_json(doc)),
    "docx": Writer(
        ".docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        render_docx,
    ),
    "pdf": Writer(".pdf", "application/pdf", render_pdf, needs_source=True),
}


def output_key(source_key: str, fmt: str) -> str:
    """scans/a.pdf -> scans/a.pdf.txt: the extension stays, so a.pdf and a.png never clash."""
    return source_key + WRITERS[fmt].suffix
