"""Symbolic links in a local source are not followed unless the job says so (issue 10,
class 5): a link would otherwise ship any readable file on the machine to the OCR
provider. Skipped links are reported in the summary."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import parse_job
from pipeline.runner import run_job
from pipeline.storage import LocalStorage, ObjectUnreadable
from pipeline.testing import FakeOcrServer
from tests.support.cli_run import environment, job_text, ocrpipe_run
from tests.support.inputs import text_page
from tests.support.jobs import FAKE_AK, FAKE_SK


def linked_tree(tmp: Path) -> Path:
    """in/real.png, in/leak.png -> ../private/secret.png, in/dir -> ../private (a folder
    link), in/loop -> in (a loop), in/inner.png -> real.png (a link inside)."""
    private, inputs = tmp / "private", tmp / "in"
    private.mkdir()
    inputs.mkdir()
    text_page(["Secret"], size=(320, 120)).save(private / "secret.png")
    text_page(["Real"], size=(320, 120)).save(inputs / "real.png")
    (inputs / "leak.png").symlink_to(private / "secret.png")
    (inputs / "dir").symlink_to(private, target_is_directory=True)
    (inputs / "loop").symlink_to(inputs, target_is_directory=True)
    (inputs / "inner.png").symlink_to(inputs / "real.png")
    return inputs


async def test_links_are_skipped_and_reported_by_default(
    tmp_path: Path, server: FakeOcrServer
) -> None:
    inputs = linked_tree(tmp_path)
    job = tmp_path / "job.toml"
    job.write_text(job_text("links", inputs, tmp_path / "out", server))
    run = await ocrpipe_run(job, environment(tmp_path))
    assert run.code == 0 and run.no_traceback(), run.out
    assert server.call_count == 1  # real.png only: nothing behind a link was sent
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "real.png.json", "real.png.txt",
    ]
    assert "skipped 4 symbolic link(s)" in run.out and "leak.png" in run.out
    assert "follow_symlinks = true" in run.out


async def test_follow_symlinks_true_follows_them_once_without_looping(
    tmp_path: Path, server: FakeOcrServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    inputs = linked_tree(tmp_path)
    monkeypatch.setenv("HUAWEICLOUD_SDK_AK", FAKE_AK)
    monkeypatch.setenv("HUAWEICLOUD_SDK_SK", FAKE_SK)
    monkeypatch.setenv("OCRPIPE_DB", str(tmp_path / "state.db"))
    text = job_text("links", inputs, tmp_path / "out", server)
    spec = parse_job(text.replace("[source]\n", "[source]\nfollow_symlinks = true\n"))
    summary = await run_job(spec)
    assert summary.documents_done == 4 and not summary.notices, summary
    out = tmp_path / "out"
    assert {p.relative_to(out).as_posix() for p in out.rglob("*.txt")} == {
        "real.png.txt", "leak.png.txt", "inner.png.txt", "dir/secret.png.txt",
    }


async def test_a_file_swapped_for_a_link_after_listing_is_not_read(tmp_path: Path) -> None:
    inputs = linked_tree(tmp_path)
    storage = LocalStorage(str(inputs))
    (real,) = [obj async for obj in storage.list(["*.png"]) if obj.key == "real.png"]
    (inputs / "real.png").unlink()
    (inputs / "real.png").symlink_to(tmp_path / "private" / "secret.png")
    with pytest.raises(ObjectUnreadable, match="symbolic link"):
        async with storage.local_path(real):
            pass
