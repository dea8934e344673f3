import os
from pathlib import Path

import pytest

from pipeline.config import DEFAULT_INCLUDE
from pipeline.errors import ConfigError
from pipeline.storage import Storage, open_storage


async def test_lists_recursively_with_globs(tmp_path: Path) -> None:
    for name in ["a.pdf", "sub/b.PNG", "sub/deeper/c.tif", "notes.txt", "sub/d.docx"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x" * 3)
    storage = open_storage(str(tmp_path))
    keys = sorted([obj.key async for obj in storage.list(DEFAULT_INCLUDE)])
    assert keys == ["a.pdf", "sub/b.PNG", "sub/deeper/c.tif"]
    excluded = [o.key async for o in storage.list(DEFAULT_INCLUDE, ["sub/**"])]
    assert excluded == ["a.pdf"]
    obj = next(iter([o async for o in storage.list(["a.pdf"])]))
    assert obj.size == 3 and obj.url == str(tmp_path / "a.pdf")
    assert obj.change_token is None and obj.fingerprint  # hashed later, when taken up
    assert await storage.change_token(obj)


async def tokens(storage: Storage, pattern: str) -> list[str | None]:
    return [await storage.change_token(o) async for o in storage.list([pattern])]


async def fingerprints(storage: Storage, pattern: str) -> list[str | None]:
    return [o.fingerprint async for o in storage.list([pattern])]


async def test_change_token_follows_content(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(b"one")
    storage = open_storage(str(tmp_path))
    (first,) = await tokens(storage, "*.png")
    path.write_bytes(b"three")
    (second,) = await tokens(storage, "*.png")
    assert first != second


async def test_missing_source_folder_is_a_config_error(tmp_path: Path) -> None:
    storage = open_storage(str(tmp_path / "nope"))
    with pytest.raises(ConfigError, match="does not exist"):
        _ = [o async for o in storage.list(["*"])]


async def test_write_is_atomic_and_nested(tmp_path: Path) -> None:
    storage = open_storage(str(tmp_path / "out"))
    written = await storage.write("a/b/c.txt", b"hello")
    assert Path(written).read_bytes() == b"hello"
    assert await storage.exists("a/b/c.txt")
    assert not list((tmp_path / "out" / "a" / "b").glob("*.part"))
    with pytest.raises(ValueError, match="escapes"):
        await storage.write("../evil.txt", b"x")


async def test_write_file_copies_a_file_in_atomically(tmp_path: Path) -> None:
    storage = open_storage(str(tmp_path / "out"))
    source = tmp_path / "made.pdf"
    source.write_bytes(bytes(range(256)) * 9000)  # a little over 2 MiB: several chunks
    written = await storage.write_file("x/y.pdf", str(source), "application/pdf")
    assert Path(written).read_bytes() == source.read_bytes()
    assert Path(written).stat().st_mode & 0o777 == 0o644
    assert not list((tmp_path / "out" / "x").glob("*.part"))
    with pytest.raises(FileNotFoundError):
        await storage.write_file("x/z.pdf", str(tmp_path / "missing"), "application/pdf")
    assert sorted(p.name for p in (tmp_path / "out" / "x").iterdir()) == ["y.pdf"]


def test_unknown_scheme() -> None:
    with pytest.raises(ConfigError, match="ftp://"):
        open_storage("ftp://host/x")


async def test_change_token_is_a_content_hash(tmp_path: Path) -> None:
    """Same size and a restored timestamp still count as a change; a copy does not."""
    path = tmp_path / "a.png"
    path.write_bytes(b"one")
    before = path.stat()
    storage = open_storage(str(tmp_path))
    ((first, stat_1),) = await both(storage, "a.png")
    path.write_bytes(b"two")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    ((second, stat_2),) = await both(storage, "a.png")
    (tmp_path / "copy.png").write_bytes(b"two")
    (copy,) = await tokens(storage, "copy.png")
    assert first != second and second == copy
    assert second is not None and second.startswith("blake2b:")
    # same size, same mtime: the fingerprint still differs (the ctime moved), so the
    # recorded hash is not trusted
    assert stat_1 != stat_2


async def both(storage: Storage, pattern: str) -> list[tuple[str | None, str | None]]:
    return [(await storage.change_token(o), o.fingerprint)
            async for o in storage.list([pattern])]


async def test_fingerprint_is_stable_while_the_file_is_untouched(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(b"one")
    storage = open_storage(str(tmp_path))
    (first,) = await fingerprints(storage, "a.png")
    (again,) = await fingerprints(storage, "a.png")
    path.touch()
    (touched,) = await fingerprints(storage, "a.png")
    assert first == again and first != touched
