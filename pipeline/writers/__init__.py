"""Output formats. Each writer writes a DocumentResult as one file.

`Writer.write(doc, source_path, options, out)` writes the file to the binary stream `out`
(a temporary file: the storage then moves or uploads it whole, so no output is ever
half-visible and a big searchable PDF is never held in memory); `Writer.render` returns
the bytes instead, for small documents and tests. `source_path` is a local copy of the
original document (the searchable PDF is built on it; the other formats ignore it, and it
may be None for them), `options` the job's output settings.

The writers built on python-docx, lxml and pikepdf are imported at their first use
(`_loaded`): those libraries took a good part of a second of CPU to import at every
start of `ocrpipe run`, for jobs that only write TXT and JSON (issue 15).
"""

from __future__ import annotations

import importlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO

from pipeline.models import DocumentResult
from pipeline.writers.jsonfile import write_json
from pipeline.writers.markdown import write_markdown
from pipeline.writers.options import WriteOptions
from pipeline.writers.txt import write_txt

__all__ = ["WRITERS", "WriteOptions", "Writer", "document_formats", "output_key"]

Write = Callable[[DocumentResult, str | None, WriteOptions, BinaryIO], None]


def _loaded(fmt: str) -> Any:
    """`write_<fmt>` of the module `pipeline.writers.<fmt>`, imported at its first use."""
    return getattr(importlib.import_module(f"pipeline.writers.{fmt}"), f"write_{fmt}")


@dataclass(frozen=True)
class Writer:
    suffix: str
    content_type: str
    write: Write
    needs_source: bool = False
    """True when `write` needs the original document's path."""

    def render(self, doc: DocumentResult, source_path: str | None,
               options: WriteOptions) -> bytes:
        """The whole file as bytes (small documents, tests)."""
        buffer = io.BytesIO()
        self.write(doc, source_path, options, buffer)
        return buffer.getvalue()


WRITERS: dict[str, Writer] = {
    "txt": Writer(".txt", "text/plain; charset=utf-8",
                  lambda doc, _path, opts, out: write_txt(doc, out, opts)),
    "json": Writer(".json", "application/json",
                   lambda doc, _path, _opts, out: write_json(doc, out)),
    "docx": Writer(
        ".docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        lambda doc, path, opts, out: _loaded("docx")(doc, path, opts, out),
    ),
    "pdf": Writer(".pdf", "application/pdf",
                  lambda doc, path, opts, out: _loaded("pdf")(doc, path, opts, out),
                  needs_source=True),
    "hocr": Writer(".hocr", "application/xhtml+xml",
                   lambda doc, _path, _opts, out: _loaded("hocr")(doc, out)),
    "alto": Writer(".alto.xml", "application/xml",
                   lambda doc, _path, _opts, out: _loaded("alto")(doc, out)),
    "md": Writer(".md", "text/markdown; charset=utf-8",
                 lambda doc, _path, opts, out: write_markdown(doc, opts, out)),
}


def document_formats(formats: tuple[str, ...]) -> tuple[str, ...]:
    """The formats written per document (csv and xlsx are per job: `fields_output`)."""
    return tuple(f for f in formats if f in WRITERS)


def output_key(source_key: str, fmt: str) -> str:
    """scans/a.pdf -> scans/a.pdf.txt: the extension stays, so a.pdf and a.png never clash."""
    return source_key + WRITERS[fmt].suffix
