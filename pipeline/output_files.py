"""A document's output files, written to the output storage (`writers/` make their bytes).

Small text outputs (TXT, JSON, DOCX of a document of up to `IN_MEMORY_PAGES` pages) are
rendered to bytes, all formats in one thread hop, and handed to the storage as they are.
Everything else (a searchable PDF, built on the original document and as large as it;
any output of a long document) is written to a temporary file and handed over whole, so
no output is held in memory however large it is (DESIGN.md invariant 3). Measured with
`benchmarks.ceiling`: the temporary folder made and removed per document, and a thread
hop per format, were a tenth of the event loop's time per one-page document.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Sequence

from pipeline.context import JobContext
from pipeline.models import DocumentResult
from pipeline.writers import WRITERS, WriteOptions, Writer, document_formats, output_key

IN_MEMORY_PAGES = 32
"""Documents up to this many pages have their text outputs rendered in memory."""


async def write_outputs(ctx: JobContext, doc: DocumentResult, path: str) -> list[str]:
    """Every format of the job written; the storage's names of the outputs, in order."""
    spec = ctx.spec.output
    options = WriteOptions(spec.low_confidence, ctx.spec.source.pdf_password,
                           spec.txt_lines, spec.headers)
    formats = document_formats(spec.formats)
    small = len(doc.pages) <= IN_MEMORY_PAGES
    in_memory = [f for f in formats if small and not WRITERS[f].needs_source]
    rendered = await asyncio.to_thread(_render_all, in_memory, doc, path, options)
    written = []
    for fmt in formats:
        writer, key = WRITERS[fmt], output_key(doc.source.key, fmt)
        if fmt in rendered:
            written.append(await ctx.output.write(key, rendered[fmt], writer.content_type))
        else:
            written.append(await _write_through_file(ctx, writer, key, doc, path, options))
    return written


def _render_all(
    formats: Sequence[str], doc: DocumentResult, path: str, options: WriteOptions
) -> dict[str, bytes]:
    return {fmt: WRITERS[fmt].render(doc, path, options) for fmt in formats}


async def _write_through_file(
    ctx: JobContext, writer: Writer, key: str, doc: DocumentResult, path: str,
    options: WriteOptions,
) -> str:
    """Written to a temporary file, then handed to the output storage whole."""
    with tempfile.TemporaryDirectory(prefix="ocrpipe-out-") as folder:
        temp = os.path.join(folder, "output" + writer.suffix)
        await asyncio.to_thread(_write_to_file, writer, doc, path, options, temp)
        return await ctx.output.write_file(key, temp, writer.content_type)


def _write_to_file(
    writer: Writer, doc: DocumentResult, source: str, options: WriteOptions, target: str
) -> None:
    with open(target, "wb") as out:
        writer.write(doc, source, options, out)
