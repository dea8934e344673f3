"""What a killed run leaves behind, cleaned at the next run of the job; and where a run
keeps its temporary files.

Each run keeps its temporary files (outputs being written, objects downloaded from S3,
whatever a library makes) in one folder of its own, `ocrpipe-run-{job}-{pid}-*`, under
`[run] temp_dir` (default: the system's temporary folder), removed when the run ends.
A `kill -9` cannot remove it: the next run of the job removes every such folder whose
process is gone. Likewise a local output's `.part` files (an output being written,
named `.{name}.{pid}-*.part` by `write_atomically`) are removed when their process is
gone. Both are checked by process id on this host, so a run of the same job elsewhere,
or a live run, never loses a file it is writing.

A process that runs several jobs at once (`ocrpipe up`) cannot give each run the
process's temporary folder in turn: the runs overlap, and their worker processes are
shared. It takes one folder for its whole life instead (`process_temp_folder`, named as
a run of the job "(up)", so a killed `up`'s folder goes at the next `up`); runs inside
it leave the process's temporary folder as it is, and `[run] temp_dir` is not used.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from pipeline.errors import ConfigError
from pipeline.preflight import PROBE_PREFIX
from pipeline.workers import process_gone

log = logging.getLogger(__name__)

RUN_FOLDER = "ocrpipe-run-{job}-{pid}-"
_RUN_FOLDER = re.compile(r"^ocrpipe-run-(?P<job>.+)-(?P<pid>\d+)-[^-]+$")
_PART = re.compile(r"^\..+\.(?P<pid>\d+)-[^.]+\.part$")
PROBE_AGE_S = 60.0
"""A probe file older than this was left by a killed run (a live probe lasts ms)."""


def _mtime(path: str) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return time.time()


def temp_base(configured: str | None) -> Path:
    """`[run] temp_dir` (must be a writable folder), else the system's temporary folder."""
    if configured is None:
        return Path(tempfile.gettempdir())
    base = Path(configured)
    if not base.is_dir() or not os.access(base, os.W_OK | os.X_OK):
        raise ConfigError(
            f"run.temp_dir {base} is not a writable folder: create it or change run.temp_dir"
        )
    return base


def _in_name(job: str) -> str:
    """The job name as part of a file name: a job queued through `ocrpipe up` is named
    "PROJECT/NAME", and "/" (like anything but letters, digits and `_.-`) is quoted."""
    return quote(job, safe="_.-")


def remove_dead_run_folders(base: Path, job: str) -> int:
    """Remove this job's run folders under `base` whose process is gone; how many."""
    removed = 0
    try:
        entries = list(os.scandir(base))
    except OSError:
        return 0
    for entry in entries:
        match = _RUN_FOLDER.match(entry.name)
        if match is None or match["job"] != _in_name(job) or not entry.is_dir(
            follow_symlinks=False
        ):
            continue
        if process_gone(int(match["pid"])):
            shutil.rmtree(entry.path, ignore_errors=True)
            removed += 1
    if removed:
        log.info("job %s: removed %d temporary folder(s) left by killed runs", job, removed)
    return removed


PROCESS_JOB = "(up)"
"""The job name a long-running process's temporary folder is made under."""
_process_folder: list[Path] = []
"""The folder `process_temp_folder` holds, while it does."""


@contextmanager
def process_temp_folder() -> Iterator[Path]:
    """One temporary folder for a process that runs many jobs at once, made the process's
    (and its later worker processes') temporary folder while inside; `run_temp_folder`
    then uses it as it is. Removed on the way out; a killed process's goes at the next."""
    with run_temp_folder(PROCESS_JOB, None) as folder:
        _process_folder.append(folder)
        try:
            yield folder
        finally:
            _process_folder.remove(folder)


@contextmanager
def run_temp_folder(job: str, configured: str | None) -> Iterator[Path]:
    """A fresh folder for this run's temporary files, made the process's (and its worker
    processes') temporary folder while inside; removed on the way out. Inside
    `process_temp_folder`, that folder, untouched (other runs are using it too)."""
    if _process_folder:  # its runs make no folder of their own: nothing of theirs is left
        yield _process_folder[-1]
        return
    base = temp_base(configured)
    remove_dead_run_folders(base, job)
    prefix = RUN_FOLDER.format(job=_in_name(job), pid=os.getpid())
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=base))
    saved_tempdir, saved_env = tempfile.tempdir, os.environ.get("TMPDIR")
    tempfile.tempdir = str(folder)
    os.environ["TMPDIR"] = str(folder)
    try:
        yield folder
    finally:
        tempfile.tempdir = saved_tempdir
        if saved_env is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = saved_env
        shutil.rmtree(folder, ignore_errors=True)


def remove_dead_part_files(root: Path) -> int:
    """Remove `.part` files under a local output folder whose writer is gone, and probe
    files (preflight.py) a killed run left; how many."""
    removed = 0
    stale_probe = time.time() - PROBE_AGE_S
    for folder, _dirs, files in os.walk(root):
        for name in files:
            match = _PART.match(name)
            if name.startswith(PROBE_PREFIX) and folder == str(root):
                if _mtime(os.path.join(folder, name)) < stale_probe:
                    with contextlib.suppress(OSError):
                        os.unlink(os.path.join(folder, name))
                        removed += 1
            elif match is not None and process_gone(int(match["pid"])):
                try:
                    os.unlink(os.path.join(folder, name))
                    removed += 1
                except OSError:
                    pass
    if removed:
        log.info("removed %d half-written output(s) (.part) left by killed runs", removed)
    return removed
