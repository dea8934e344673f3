"""`ocrpipe worker`: run queued jobs without serving the API (pipeline/queue_worker.py)."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path

import click

from pipeline.errors import ExitCode, OcrpipeError


@click.command("worker", epilog="SIGINT/SIGTERM: no new jobs, calls in flight finish "
               "(--grace), running jobs go back to the queue, exit 0.")
@click.option("--concurrency", default=2, show_default=True, type=click.IntRange(min=1),
              envvar="OCRPIPE_WORKER_CONCURRENCY", show_envvar=True,
              help="Jobs this process runs at once.")
@click.option("--state", default=None, envvar="OCRPIPE_DB", show_envvar=True,
              help="State database shared with `ocrpipe up` (postgresql://USER@HOST/DB "
                   "for several machines) [default: .ocrpipe/state.db].")
@click.option("--grace", type=click.FloatRange(min=0), default=30.0, show_default=True,
              help="On SIGINT/SIGTERM, seconds to let OCR calls in flight finish.")
@click.option("--lease", type=click.FloatRange(min=1), default=30.0, show_default=True,
              help="Seconds a claim on a job (or on a job's documents) holds unrenewed "
                   "(after a crash, another process resumes the work once it has run out).")
@click.option("--embedded-workers", type=click.IntRange(min=1), default=None,
              help="Engine processes of the embedded OCR service [default: CPU cores].")
def worker_command(concurrency: int, state: str | None, grace: float, lease: float,
                   embedded_workers: int | None) -> None:
    """Run jobs submitted to `ocrpipe up`, from the shared state database, without an
    API (README, "Running on PostgreSQL"); on PostgreSQL, with no job of its own, help
    with the documents of a running job. Relative job folders start in the folder it
    starts in; credentials come from this process's environment, as for `up`."""
    from pipeline.job_worker import WorkerSettings
    from pipeline.queue_worker import QueueWorkerConfig, main

    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if state:
        os.environ["OCRPIPE_DB"] = state
    config = QueueWorkerConfig(concurrency=concurrency, grace=grace,
                               embedded_workers=embedded_workers,
                               worker=WorkerSettings(lease=lease), base_dir=Path.cwd())
    try:
        asyncio.run(main(config))
    except OcrpipeError as exc:
        click.echo(f"ocrpipe: error: {exc}", err=True)
        sys.exit(getattr(exc, "exit_code", ExitCode.CONFIG))
    except (KeyboardInterrupt, asyncio.CancelledError):
        click.echo("ocrpipe worker: stopped at once; running jobs are queued again", err=True)
        sys.exit(ExitCode.INTERRUPTED)
