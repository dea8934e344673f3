"""Output paths are unique within a job, and a job never reads its own outputs back.

Two source keys can name the same output: `a//b.png` and `a/b.png` (S3 keeps both),
`a/./b.png`, `x/../a/b.png`. `OutputClaims` hands each normalised output path to the
first document that asks (documents ask in listing order, so the same one wins on
every run); a later one fails with the name of the document that holds the path.

When the output folder is the source folder or inside it, the next run would list the
outputs as new documents (a searchable `a.png.pdf` matches `**/*.pdf`).
`OwnOutputs.excludes` tells such keys apart: anything under the output folder, or, when
both folders are the same, a file whose name is a source name plus an output suffix.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from pathlib import Path

from pipeline.storage import matches
from pipeline.writers import WRITERS, document_formats, output_key


def normalised(key: str) -> str:
    """The path a key lands on in a file system: `a//b`, `a/./b`, `x/../a/b` are `a/b`."""
    return posixpath.normpath("/" + key).lstrip("/")


class OutputClaims:
    """Which document owns each output path of this run."""

    def __init__(self, formats: Sequence[str]) -> None:
        self._formats = document_formats(tuple(formats))
        self._owners: dict[str, str] = {}

    def claim(self, key: str) -> str | None:
        """None when the document's output paths are its own (now claimed), else a
        message that names the document holding them."""
        paths = [normalised(output_key(key, fmt)) for fmt in self._formats]
        for path in paths:
            owner = self._owners.get(path)
            if owner is not None and owner != key:
                return (
                    f"its output {path} is already the output of {owner!r} (the two names "
                    "lead to the same file): rename one of them"
                )
        for path in paths:
            self._owners[path] = key
        return None


class OwnOutputs:
    """Recognises keys of a local source that are this job's own outputs."""

    def __init__(
        self, source: str, output: str, include: Sequence[str], exclude: Sequence[str]
    ) -> None:
        self._inside: str | None = None  # the output folder, relative to the source
        self._include = tuple(include)
        self._exclude = tuple(exclude)
        if "://" in source or "://" in output:
            return
        src, out = Path(source).resolve(), Path(output).resolve()
        if out == src:
            self._inside = ""
        elif out.is_relative_to(src):
            self._inside = out.relative_to(src).as_posix()

    def excludes(self, key: str) -> bool:
        if self._inside is None:
            return False
        if self._inside:
            return normalised(key).startswith(self._inside + "/")
        for writer in WRITERS.values():
            stem = key.removesuffix(writer.suffix)
            if stem != key and matches(stem, self._include, self._exclude):
                return True
        return False
