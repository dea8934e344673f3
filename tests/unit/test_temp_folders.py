"""Temporary folders: a run's own, and the one a process running many jobs at once
(`ocrpipe up`) holds for all of them, so that overlapping runs never pull the process's
temporary folder from under each other."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from pipeline.leftovers import process_temp_folder, run_temp_folder


@pytest.fixture
def system_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    return tmp_path


def test_a_run_alone_gets_a_folder_of_its_own(system_tmp: Path) -> None:
    with run_temp_folder("finance/scan", None) as folder:
        assert folder.parent == system_tmp and tempfile.gettempdir() == str(folder)
        assert os.environ["TMPDIR"] == str(folder)
    assert not folder.exists() and tempfile.gettempdir() == str(system_tmp)


def test_overlapping_runs_share_the_process_folder_and_keep_it(system_tmp: Path) -> None:
    with process_temp_folder() as shared:
        assert shared.parent == system_tmp and "%28up%29" in shared.name
        first = run_temp_folder("finance/a", None)
        second = run_temp_folder("legal/b", None)
        assert first.__enter__() == shared and second.__enter__() == shared
        first.__exit__(None, None, None)  # the first run ends while the second goes on
        assert shared.is_dir() and tempfile.gettempdir() == str(shared)
        with run_temp_folder("finance/c", None) as third:  # a third starts meanwhile
            assert third == shared
            fd, path = tempfile.mkstemp()
            os.close(fd)
            assert Path(path).parent == shared
        second.__exit__(None, None, None)
        assert shared.is_dir() and os.environ["TMPDIR"] == str(shared)
    assert not shared.exists()
    assert tempfile.gettempdir() == str(system_tmp) and os.environ["TMPDIR"] == str(system_tmp)


def test_a_killed_process_folder_goes_at_the_next_start(system_tmp: Path) -> None:
    dead = system_tmp / "ocrpipe-run-%28up%29-999999999-abc123"
    dead.mkdir()
    (dead / "half.png").write_bytes(b"x")
    with process_temp_folder() as shared:
        assert not dead.exists() and shared.exists()
