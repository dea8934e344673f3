"""Local folders as storage: streamed recursive listing, reads in place, atomic writes."""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from wcmatch import glob

from pipeline.errors import ConfigError
from pipeline.models import SourceObject

_GLOB_FLAGS = glob.GLOBSTAR | glob.IGNORECASE | glob.DOTMATCH
_BATCH = 256


def matches(key: str, include: Sequence[str], exclude: Sequence[str] = ()) -> bool:
    """True when the relative key matches an include glob and no exclude glob."""
    return glob.globmatch(key, list(include), flags=_GLOB_FLAGS, exclude=list(exclude) or None)


class LocalStorage:
    """A folder on this machine. Keys are '/'-separated paths relative to `root`."""

    def __init__(self, root: str) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"LocalStorage({str(self.root)!r})"

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
                    change_token=f"{stat.st_size}:{stat.st_mtime_ns}",
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
            return [obj for _, obj in zip(range(_BATCH), walker, strict=False)]

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

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._target(key).is_file)

    async def write(self, key: str, data: bytes, content_type: str = "") -> str:
        """Write atomically (temp file in the same folder, fsync, rename); return the path."""
        target = self._target(key)

        def write_file() -> str:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            return str(target)

        return await asyncio.to_thread(write_file)
