"""The `ocrpipe` command. The only place where errors become exit codes."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

import click

from pipeline import __version__
from pipeline.errors import EXIT_INTERRUPTED, OcrpipeError

EXIT_CODES_HELP = """\b
Exit codes:
  0    every document done
  1    some documents failed (the summary lists them, with the reason)
  2    the job could not run (job file, paths, endpoint: the message says what to fix)
  3    the OCR service refused the credentials
  130  interrupted (Ctrl-C / SIGTERM): run the same job again to resume
"""


def _fail(exc: OcrpipeError) -> None:
    click.echo(f"ocrpipe: error: {exc}", err=True)
    sys.exit(exc.exit_code)


def _logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ocrpipe")
def main() -> None:
    """ocrpipe: batch OCR of scanned images and PDFs over the Huawei Cloud OCR protocol.

    Start with `ocrpipe run jobs/sample.toml`: with `endpoint = "embedded"` (the
    default) it runs a local OCR service itself, offline. State and the usage ledger
    live in SQLite at $OCRPIPE_DB (default .ocrpipe/state.db).
    """


@main.command(epilog=EXIT_CODES_HELP)
@click.argument("job_file", type=click.Path(path_type=Path))
@click.option("--no-progress", is_flag=True, help="Do not draw the progress bar.")
@click.option("-v", "--verbose", count=True, help="-v: one log line per document; -vv: debug.")
def run(job_file: Path, no_progress: bool, verbose: int) -> None:
    """Run JOB_FILE (TOML): OCR every matching document, write outputs, print a summary.

    Documents finished in an earlier run and unchanged since are skipped; pages
    finished before an interruption are not sent again.

    Credentials for a remote endpoint come from HUAWEICLOUD_SDK_AK and
    HUAWEICLOUD_SDK_SK, or from a credentials file ($OCRPIPE_CREDENTIALS, default
    ~/.config/ocrpipe/credentials.toml; TOML with `ak` and `sk`, chmod 600), never
    from the job file. State: $OCRPIPE_DB (default .ocrpipe/state.db).
    """
    from pipeline.config import load_job
    from pipeline.progress import print_summary
    from pipeline.runner import RunSummary, install_signal_handlers, run_job

    _logging(verbose)
    try:
        spec = load_job(job_file)

        async def main_task() -> RunSummary:
            task = asyncio.current_task()
            assert task is not None
            install_signal_handlers(task)
            return await run_job(spec, show_progress=not no_progress)

        summary = asyncio.run(main_task())
    except OcrpipeError as exc:
        _fail(exc)
    except (KeyboardInterrupt, asyncio.CancelledError):
        click.echo("ocrpipe: interrupted; run the same job again to resume", err=True)
        sys.exit(EXIT_INTERRUPTED)
    print_summary(summary)
    sys.exit(summary.exit_code)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, envvar="OCRPIPE_SERVE_HOST",
              show_envvar=True,
              help="Address to listen on (0.0.0.0 exposes it to the network).")
@click.option("--port", default=8080, show_default=True, type=int, envvar="OCRPIPE_SERVE_PORT",
              show_envvar=True,
              help="TCP port (0 picks a free one).")
@click.option("--workers", type=click.IntRange(min=1), default=None, envvar="OCRPIPE_SERVE_WORKERS",
              show_envvar=True,
              help="OCR engine processes [default: number of CPU cores].")
@click.option("--auth-file", type=click.Path(path_type=Path, dir_okay=False), default=None,
              envvar="OCRPIPE_AUTH_FILE", show_envvar=True,
              help="TOML with the accepted AK/SK pairs. HUAWEICLOUD_SDK_AK/SK are accepted too.")
@click.option("--no-auth", is_flag=True, help="Accept unsigned requests (local testing only).")
@click.option("-v", "--verbose", count=True, help="More logging.")
def serve(host: str, port: int, workers: int | None, auth_file: Path | None, no_auth: bool,
          verbose: int) -> None:
    """Serve Huawei Cloud OCR's general-text API on this machine (RapidOCR, offline).

    POST /v2/{project_id}/ocr/general-text, signed with AK/SK as the official SDK does;
    one log line per request, never image data or secrets.
    """
    from pipeline.service.server import ServiceConfig, load_credentials
    from pipeline.service.server import serve as serve_forever

    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        credentials = load_credentials(auth_file)
        serve_forever(ServiceConfig(host=host, port=port, workers=workers,
                                    credentials=credentials, auth_required=not no_auth))
    except OcrpipeError as exc:
        _fail(exc)


@main.command()
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True)
@click.option("--job", default=None, help="Only this job's calls.")
def report(fmt: str, job: str | None) -> None:
    """Usage per enterprise project and API: billed, failed and outcome-unknown calls, pages.

    "Outcome unknown" are calls sent with no answer (timeouts, crashes): the service may
    have billed them; reconcile with the provider's console.
    """
    from pipeline.ledger import format_report
    from pipeline.store import open_store

    async def collect() -> list[dict[str, object]]:
        store = await open_store()
        try:
            return await store.usage_summary(job)
        finally:
            await store.close()

    try:
        rows = asyncio.run(collect())
    except OcrpipeError as exc:
        _fail(exc)
    click.echo(format_report(rows, fmt), nl=False)
