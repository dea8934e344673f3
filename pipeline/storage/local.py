"""Local folders as storage: streamed recursive listing, reads in place, atomic writes.

Change detection hashes a file's content (BLAKE2b), so a file copied over with the same
size and an older timestamp still counts as changed. The hash is computed when the
document is taken up (`change_token`), not while listing, and only when the file's
fingerprint (size, mtime, ctime and inode, as git's index keeps them) differs from the
one recorded with the last hash: a re-run over an unchanged tree reads no file. The
ctime cannot be set back by copying or `touch`, so a rewrite is always seen.
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
_CHUNK = 1 << 20


class OutsideFolder(ObjectUnreadable, ValueError):
    """A key that leads outside the storage's folder: only that document fails."""


def matches(key: str, include: Sequence[str], exclude: Sequence[str] = ()) -> bool:
    """True when the relative key matches an include glob and no exclude glob."""
    return glob.globmatch(key, list(include), flags=_GLOB_FLAGS, exclude=list(exclude) or None)


class LocalStorage:
    """A folder on this machine. Keys are '/'-separated paths relative to `root`."""

    def __init__(
        self, root: str, *, follow_symlinks: bool = False,
        hasher: Callable[[str], str | None] | None = None,
    ) -> None:
        self.root = Path(root)
        self.follow_symlinks = follow_symlinks
        self.skipped: list[tuple[str, str]] = []
        """(key, why) of entries the listing left out: symbolic links not followed."""
        self.hasher = hasher or content_hash
        """Path -> content hash (the change token); tests count calls through it."""

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
        """Files in key order. A symbolic link is left out (and noted in `skipped`) unless
        `follow_symlinks`; followed folder links are entered once (no loops)."""
        stack = [self.root]
        seen = {self.root.resolve()}
        while stack:
            folder = stack.pop()
            try:
                entries = sorted(os.scandir(folder), key=lambda e: e.name)
            except OSError:
                continue
            for entry in entries:
                key = Path(entry.path).relative_to(self.root).as_posix()
                if entry.is_symlink() and not self.follow_symlinks:
                    if entry.is_dir() or matches(key, include, exclude):
                        self.skipped.append((key, "a symbolic link (not followed)"))
                    continue
                if entry.is_dir(follow_symlinks=self.follow_symlinks):
                    real = Path(entry.path).resolve()
                    if real not in seen:
                        seen.add(real)
                        stack.append(Path(entry.path))
                    continue
                if not entry.is_file():
                    continue
                if not matches(key, include, exclude):
                    continue
                try:
                    stat = entry.stat()
                except OSError:
                    continue  # gone since the folder was read
                yield SourceObject(
                    key=key,
                    url=entry.path,
                    size=stat.st_size,
                    mtime=stat.st_mtime,
                    fingerprint=(
                        f"stat:{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ctime_ns}:{stat.st_ino}"
                    ),
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
            for obj in walker:
                batch.append(obj)
                if len(batch) >= _BATCH:
                    break
            return batch

        while batch := await asyncio.to_thread(next_batch):
            for obj in batch:
                yield obj

    async def change_token(self, obj: SourceObject) -> str | None:
        """The content hash (None when the file cannot be read: the document then fails
        with the real reason when it is opened)."""
        return obj.change_token or await asyncio.to_thread(self.hasher, obj.url)

    @asynccontextmanager
    async def local_path(self, obj: SourceObject) -> AsyncIterator[str]:
        """A path worker processes can open; for local files the file itself (not a
        symbolic link put in its place since it was listed, unless `follow_symlinks`)."""
        if not self.follow_symlinks and await asyncio.to_thread(os.path.islink, obj.url):
            raise ObjectUnreadable(
                f"{obj.key} became a symbolic link after it was listed: not followed "
                "(follow_symlinks is off)"
            )
        yield obj.url

    def _target(self, key: str) -> Path:
        try:
            target = (self.root / key).resolve()
        except (RuntimeError, OSError) as exc:  # a symbolic link loop on the way
            raise ObjectUnreadable(
                f"{key} cannot be reached in {self.root}: {exc}; remove the looping link"
            ) from None
        if not target.is_relative_to(self.root.resolve()):
            raise OutsideFolder(
                f"{key} escapes the folder {self.root} (through a symbolic link or '..'); "
                "ocrpipe reads and writes only inside it: remove the link"
            )
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
        # the path is resolved in the thread too: it walks every folder of the path
        return await asyncio.to_thread(
            lambda: write_atomically(self._target(key), lambda out: out.write(data))
        )

    async def write_file(self, key: str, path: str, content_type: str = "") -> str:
        """Copy the file at `path` in, atomically, a chunk at a time; return the path."""
        target = self._target(key)

        def copy(out: BinaryIO) -> None:
            with open(path, "rb") as source:
                shutil.copyfileobj(source, out, _CHUNK)

        return await asyncio.to_thread(write_atomically, target, copy)


def write_atomically(target: Path, fill: Callable[[BinaryIO], object]) -> str:
    """`fill` a temp file beside `target`, fsync it, rename it over `target` (0644): the
    file appears whole or not at all. Returns the target's path."""
    target.parent.mkdir(parents=True, exist_ok=True)
    # the pid in the name tells the next run whether its writer is gone (leftovers.py)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{target.name}.{os.getpid()}-", suffix=".part", dir=target.parent
    )
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


def content_hash(path: str) -> str | None:
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
