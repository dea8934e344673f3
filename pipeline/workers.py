"""Worker process pools that never outlive ocrpipe and leave Ctrl-C to the parent.

Both pools (the pipeline's render/encode pool and the embedded service's engine pool)
are made here. Workers are spawned (never forked from a process that already runs
threads), ignore SIGINT (a terminal's Ctrl-C reaches the whole process group; the
parent decides how to stop), and on Linux ask the kernel to kill them when their
parent dies, so a `kill -9` of ocrpipe leaves no orphans behind.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from typing import Any, TypeVar

T = TypeVar("T")

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> None:
    """Make this process exit when `parent_pid` does; ignore SIGINT."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


def _initialize(
    parent_pid: int, initializer: Callable[..., Any] | None, initargs: tuple[Any, ...]
) -> None:
    die_with_parent(parent_pid)
    if initializer is not None:
        initializer(*initargs)


def process_pool(
    workers: int,
    initializer: Callable[..., Any] | None = None,
    initargs: tuple[Any, ...] = (),
) -> ProcessPoolExecutor:
    """A spawn-context pool whose workers die with this process and ignore Ctrl-C."""
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=partial(_initialize, os.getpid(), initializer, initargs),
    )


def call_with(fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
    """`fn(*args, **kwargs)`: what a worker runs for `JobContext.in_worker`. It lives here,
    in a module that imports almost nothing, because a spawned worker imports the module
    of every function it is sent: from `pipeline.context` that was the whole pipeline
    (storages, the state store, aiohttp), about a second of CPU per worker."""
    return fn(*args, **kwargs)


def process_gone(pid: int) -> bool:
    """Whether no process `pid` runs on this host (one we may not signal still runs);
    never for this process itself."""
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
