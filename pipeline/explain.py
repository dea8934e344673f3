"""An exception in words a user can act on, without a traceback."""

from __future__ import annotations

from concurrent.futures.process import BrokenProcessPool

from sqlalchemy.exc import SQLAlchemyError

from pipeline.errors import DocumentError, OcrpipeError


class WorkerDied(DocumentError):
    """A page's worker process died; kept until the document's other pages finish."""


def leaves(exc: BaseException) -> list[BaseException]:
    """The exceptions inside (nested) exception groups, or `exc` itself."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in leaves(inner)]
    return [exc]


def explain(exc: BaseException) -> str:
    """What went wrong, in words a user can act on (no traceback)."""
    found = leaves(exc)
    ours = [leaf for leaf in found if isinstance(leaf, OcrpipeError)]
    leaf = (ours or found)[0]
    if isinstance(leaf, OcrpipeError):
        return str(leaf)
    if isinstance(leaf, BrokenProcessPool):
        return (
            "a worker process died while reading this document, and again when it was "
            "tried on its own: the file may crash the renderer, or memory ran out"
        )
    if isinstance(leaf, OSError):
        where = f": {leaf.filename}" if leaf.filename else ""
        return f"the file system refused it ({leaf.strerror or leaf}){where}"
    if isinstance(leaf, UnicodeError):
        return f"text or a name that is not valid UTF-8 ({leaf})"
    if isinstance(leaf, MemoryError):
        return "out of memory while processing it"
    if isinstance(leaf, SQLAlchemyError):
        return f"the state store refused its record ({leaf.__class__.__name__})"
    return (
        f"unexpected {leaf.__class__.__name__}: {leaf} (a bug in ocrpipe; run with -vv "
        "for the details and report it)"
    )
