"""Local folders as storage: streamed recursive listing, reads in place, atomic writes.

Change detection hashes every listed file's content (BLAKE2b) in the listing thread, so
a file copied over with the same size and an older timestamp still counts as changed.
A batch of the listing stops at 256 files or 64 MiB hashed, whichever comes first, so
the first documents start while the rest of a big tree is still being hashed.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from wcmatch import glob

from pipeline.errors import ConfigError
from pipeline.models import SourceObject
from pipeline.storage.base import ObjectUnreadable

_GLOB_FLAGS = glob.GLOBSTAR | glob.IGNORECASE | glob.DOTMATCH
_BATCH = 256
_FILE_MODE = 0o644
_BATCH_BYTES = 64 << 20
_CHUNK = 1 << 20


def matches(key: str, include: Sequence[str], exclude: Sequence[str] = ()) -> bool:
    """True when the relative key matches an include glob and no exclude glob."""
    return glob.globmatch(key, list(include), flags=_GLOB_FLAGS, exclude=list(exclude) or None)


class LocalStorage:
    """A folder on this machine. Keys are '/'-separated paths relative to `root`."""

    def __init__(self, root: str) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"LocalStorage({str(self.root)!r})"

    async def __aenter__(self) -> LocalStorage:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def _walk(self, include: Sequence[str], exclude: Sequence[str]) -> Iterator[SourceObject]:
        stack = [self.root]
        while stack:
            folder = stack.pop()
            try:
                entries = sorted(os.scandir(folder), key=lambda e: e.name)
            except OSError:
                continue
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                    continue
                if not entry.is_file():
                    continue
                key = Path(entry.path).relative_to(self.root).as_posix()
                if not matches(key, include, exclude):
                    continue
                stat = entry.stat()
                yield SourceObject(
                    key=key,
                    url=entry.path,
                    size=stat.st_size,
                    mtime=stat.st_mtime,
                    change_token=_content_hash(entry.path),
                )

    async def list(
        self, include: Sequence[str], exclude: Sequence[str] = ()
    ) -> AsyncIterator[SourceObject]:
        """Yield matching files, walking the tree in a thread a batch at a time."""
        if not self.root.is_dir():
            raise ConfigError(
                f"source folder {self.root} does not exist or is not a folder: "
                "check source.url in the job file"
            )
        walker = self._walk(include, exclude)

        def next_batch() -> list[SourceObject]:
            batch: list[SourceObject] = []
            hashed = 0
            for obj in walker:
                batch.append(obj)
                hashed += obj.size
                if len(batch) >= _BATCH or hashed >= _BATCH_BYTES:
                    break
            return batch

        while batch := await asyncio.to_thread(next_batch):
            for obj in batch:
                yield obj

    @asynccontextmanager
    async def local_path(self, obj: SourceObject) -> AsyncIterator[str]:
        """A path worker processes can open; for local files the file itself."""
        yield obj.url

    def _target(self, key: str) -> Path:
        target = (self.root / key).resolve()
        if not target.is_relative_to(self.root.resolve()):
            raise ValueError(f"output key {key!r} escapes the output folder")
        return target

    async def read(self, key: str) -> bytes:
        try:
            return await asyncio.to_thread(self._target(key).read_bytes)
        except OSError as exc:
            raise ObjectUnreadable(f"cannot read {key}: {exc.strerror or exc}") from None

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._target(key).is_file)

    async def write(self, key: str, data: bytes, content_type: str = "") -> str:
        """Write atomically (temp file in the same folder, fsync, rename); return the path."""
        target = self._target(key)
        return await asyncio.to_thread(_install, target, lambda out: out.write(data))

    async def write_file(self, key: str, path: str, content_type: str = "") -> str:
        """Copy the file at `path` in, atomically, a chunk at a time; return the path."""
        target = self._target(key)

        def copy(out: BinaryIO) -> None:
            with open(path, "rb") as source:
                shutil.copyfileobj(source, out, _CHUNK)

        return await asyncio.to_thread(_install, target, copy)


def _install(target: Path, fill: Callable[[BinaryIO], object]) -> str:
    """`fill` a temp file beside `target`, fsync it, rename it over `target`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        os.fchmod(fd, _FILE_MODE)  # mkstemp makes 0600; outputs are ordinary files
        with os.fdopen(fd, "wb") as handle:
            fill(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return str(target)


def _content_hash(path: str) -> str | None:
    """BLAKE2b of the file's bytes, read in 1 MiB chunks; None when it cannot be read
    (the document then fails with the real reason when it is opened)."""
    digest = hashlib.blake2b(digest_size=20)
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    except OSError:
        return None
    return f"blake2b:{digest.hexdigest()}"
