"""Rebuild outputs from a result's JSON, without calling OCR again.

`ocrpipe export a.pdf.json --format docx` reads the blocks, boxes, confidences and page
geometry that the JSON writer saved and runs the same writers as `ocrpipe run`; Word,
Markdown and reflowed text follow the paragraphs the JSON holds (`pipeline.layout_json`),
so they come out as the run wrote them (a JSON without them has them computed). The
searchable PDF is built on the original document (`--source`), which must be the file
the result was made from (its size is checked against the JSON's record).
"""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.errors import ConfigError, DocumentError
from pipeline.layout_json import stored_layout
from pipeline.models import DocumentResult, SourceObject, page_from_dict
from pipeline.storage.local import write_atomically
from pipeline.writers import WRITERS, WriteOptions


def load_result(path: Path, source: Path | None = None) -> DocumentResult:
    """The DocumentResult saved in a `.json` output. Raises DocumentError if it is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        recorded = data["source"]
        pages = tuple(page_from_dict(page) for page in data["pages"])
        key, size = str(recorded["key"]), int(recorded.get("size", 0))
        for page in pages:
            if page.paragraphs is not None:
                stored_layout(page)  # malformed paragraphs are found here, not mid-write
    except FileNotFoundError:
        raise ConfigError(f"{path} does not exist") from None
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise DocumentError(
            f"{path} is not an ocrpipe JSON result ({type(exc).__name__}: {exc}): "
            "export reads the .json files that `ocrpipe run` writes"
        ) from None
    url = str(source.resolve()) if source is not None else ""
    return DocumentResult(SourceObject(key=key, url=url, size=size), pages)


def default_output(result_path: Path, fmt: str) -> Path:
    """a.pdf.json -> a.pdf.docx, beside the JSON."""
    stem = result_path.name.removesuffix(".json")
    return result_path.with_name(stem + WRITERS[fmt].suffix)


def export(
    result_path: Path,
    fmt: str,
    *,
    output: Path | None = None,
    source: Path | None = None,
    options: WriteOptions | None = None,
) -> Path:
    """Write `fmt` rebuilt from `result_path`; returns where. The file appears whole or
    not at all (written beside it, then renamed)."""
    if fmt not in WRITERS:
        raise ConfigError(f"unknown format {fmt!r}: use one of {', '.join(WRITERS)}")
    writer = WRITERS[fmt]
    doc = load_result(result_path, source)
    if writer.needs_source:
        if source is None:
            raise ConfigError(
                f"--format {fmt} is built on the original document: give it with --source"
            )
        _check_source(doc, source)
    target = output or default_output(result_path, fmt)
    write_atomically(
        target,
        lambda out: writer.write(doc, str(source) if source else None,
                                 options or WriteOptions(), out),
    )
    return target


def _check_source(doc: DocumentResult, source: Path) -> None:
    try:
        size = source.stat().st_size
    except OSError as exc:
        raise ConfigError(f"--source {source}: {exc.strerror or exc}") from None
    if doc.source.size and size != doc.source.size:
        raise DocumentError(
            f"--source {source} is {size} bytes but the result was made from a file of "
            f"{doc.source.size} bytes ({doc.source.key}): give the original document"
        )
