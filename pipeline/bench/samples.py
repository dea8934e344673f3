"""The sample folder's pages, rendered, fitted and encoded as a job would send them."""

from __future__ import annotations

import logging
from pathlib import Path

from pipeline.errors import ConfigError, DocumentError
from pipeline.models import OcrRequest
from pipeline.page_worker import prepare_and_encode
from pipeline.render import inspect_document

logger = logging.getLogger(__name__)

SUFFIXES = frozenset({".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp"})
DEFAULT_SAMPLES = Path("jobs/samples")
"""The samples shipped with ocrpipe (run from the repository root)."""


def sample_files(folder: Path) -> list[Path]:
    """The documents under `folder` (any depth), in a stable order."""
    if not folder.is_dir():
        raise ConfigError(
            f"sample folder {folder} not found: pass --samples with a folder of PDFs or images"
        )
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
    if not files:
        raise ConfigError(
            f"no PDF or image under {folder}: pass --samples with a folder of PDFs or images "
            f"({', '.join(sorted(SUFFIXES))})"
        )
    return files


def load_requests(folder: Path, *, api: str, max_pages: int) -> list[OcrRequest]:
    """Up to `max_pages` pages of the documents under `folder`, each an `OcrRequest` for
    `api`; a document that cannot be read is skipped with a warning."""
    requests: list[OcrRequest] = []
    for path in sample_files(folder):
        key = path.relative_to(folder).as_posix()
        try:
            pages = inspect_document(str(path)).page_count
            for index in range(pages):
                if len(requests) >= max_pages:
                    return requests
                page, b64 = prepare_and_encode(str(path), key, index)
                requests.append(OcrRequest(key, index, b64, page.image_width, page.image_height,
                                            api=api))
        except DocumentError as exc:
            logger.warning("sample %s skipped: %s", key, exc)
    if not requests:
        raise ConfigError(f"no readable page under {folder}: every document failed to open")
    return requests
