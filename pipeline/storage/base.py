"""The storage interface both backends implement (local folders, S3-compatible buckets).

A storage is opened and closed as an async context manager (`async with`): the S3 one
holds one HTTP client for its lifetime and checks its bucket on entry, so a missing
bucket or missing credentials stop the job before any OCR call. Keys are '/'-separated
and relative to the storage root (folder or `bucket/prefix`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Protocol

from pipeline.errors import DocumentError
from pipeline.models import SourceObject


class ObjectUnreadable(DocumentError):
    """One stored object cannot be read (access denied, deleted since it was listed...).

    Only that document fails; the job goes on."""


class Storage(Protocol):
    """Where documents come from and where results go."""

    async def __aenter__(self) -> Storage: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def list(
        self, include: Sequence[str], exclude: Sequence[str] = ()
    ) -> AsyncIterator[SourceObject]:
        """Stream the objects whose relative key matches the globs, as they are found."""
        ...

    async def change_token(self, obj: SourceObject) -> str | None:
        """What tells this version of the object from another: `obj.change_token` when the
        listing had it (S3 ETag), else computed now (local content hash; slow)."""
        ...

    def local_path(self, obj: SourceObject) -> AbstractAsyncContextManager[str]:
        """A local file with the object's bytes, for worker processes, while inside."""
        ...

    async def read(self, key: str) -> bytes:
        """The whole object (for small objects: outputs, tests); raises ObjectUnreadable."""
        ...

    async def exists(self, key: str) -> bool: ...

    async def write(self, key: str, data: bytes, content_type: str = "") -> str:
        """Write atomically (no half-written object ever visible); return where it went."""
        ...

    async def write_file(self, key: str, path: str, content_type: str = "") -> str:
        """`write` the content of the local file at `path`, streamed: a big output is
        never held in memory."""
        ...
