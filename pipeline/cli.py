"""The `ocrpipe` command. The only place where errors become exit codes."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from datetime import datetime
from pathlib import Path

import click

from pipeline import __version__
from pipeline.errors import ConfigError, ExitCode, JobInterrupted, OcrpipeError

EXIT_CODES_HELP = """\b
Exit codes:
  0    every document done
  1    some documents failed (the summary lists them, with the reason)
  2    the job could not run (job file, source or output location, endpoint, state
       database, another run of the job active: the message says what to fix)
  3    the OCR service refused the credentials
  130  interrupted (Ctrl-C / SIGTERM): run the same job again to resume
"""


def _fail(exc: OcrpipeError | Exception) -> None:
    """Print `exc` as one line and exit with its code (2 for the service's SetupError)."""
    click.echo(f"ocrpipe: error: {exc}", err=True)
    sys.exit(getattr(exc, "exit_code", ExitCode.CONFIG))


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
@click.option("--grace", type=click.FloatRange(min=0), default=30.0, show_default=True,
              help="On Ctrl-C/SIGTERM, seconds to let OCR calls in flight finish.")
@click.option("--wait", is_flag=True,
              help="If another run of this job is active (same state database), wait for it "
                   "to end instead of exiting with 2.")
@click.option("-v", "--verbose", count=True, help="-v: one log line per document; -vv: debug.")
def run(job_file: Path, no_progress: bool, grace: float, wait: bool, verbose: int) -> None:
    """Run JOB_FILE (TOML): OCR every matching document, write outputs, print a summary.

    Documents finished in an earlier run and unchanged since are skipped; pages
    finished before an interruption are not sent again. One run of a job at a time:
    a second one exits with 2 and names the process holding the job (or waits: --wait).

    Credentials for a remote endpoint come from HUAWEICLOUD_SDK_AK and
    HUAWEICLOUD_SDK_SK, or from a credentials file ($OCRPIPE_CREDENTIALS, default
    ~/.config/ocrpipe/credentials.toml; TOML with `ak` and `sk`, chmod 600), never
    from the job file. State: $OCRPIPE_DB (default .ocrpipe/state.db).
    """
    from pipeline.config import load_job
    from pipeline.models import RunSummary
    from pipeline.progress import ProgressBar, print_summary
    from pipeline.runner import exit_code_of, install_signal_handlers, run_job

    _logging(verbose)
    try:
        spec = load_job(job_file)

        async def main_task() -> RunSummary:
            task = asyncio.current_task()
            assert task is not None
            stopping = asyncio.Event()
            install_signal_handlers(task, stopping, grace)
            with ProgressBar(spec.name, enabled=not no_progress) as bar:
                return await run_job(
                    spec, observer=bar, stopping=stopping, wait=wait,
                    on_wait=lambda message: click.echo(f"ocrpipe: {message}", err=True),
                )

        summary = asyncio.run(main_task())
    except JobInterrupted as exc:
        if isinstance(exc.summary, RunSummary):
            print_summary(exc.summary)
        click.echo(f"ocrpipe: interrupted: {exc}", err=True)
        sys.exit(ExitCode.INTERRUPTED)
    except OcrpipeError as exc:
        _fail(exc)
    except Exception as exc:  # a bug: one line, the traceback with -vv
        logging.getLogger("pipeline").debug("unexpected error", exc_info=exc)
        click.echo(
            f"ocrpipe: error: unexpected {exc.__class__.__name__}: {exc} (a bug in ocrpipe; "
            "run with -vv for the traceback and report it). Finished pages are saved",
            err=True,
        )
        sys.exit(ExitCode.CONFIG)
    except (KeyboardInterrupt, asyncio.CancelledError):
        click.echo(
            "ocrpipe: interrupted at once: finished pages are saved (calls in flight show "
            "as outcome unknown in `ocrpipe report`); run the same job again to resume",
            err=True,
        )
        sys.exit(ExitCode.INTERRUPTED)
    print_summary(summary)
    if summary.stopped == "budget":
        click.echo("ocrpipe: stopped by the budget of its enterprise project (see "
                   "`ocrpipe billing status`); run the job again when there is budget", err=True)
    sys.exit(exit_code_of(summary))


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
              help="TOML: AK/SK pairs, IAM users (token auth), admin key, token lifetime "
                   "(see README). HUAWEICLOUD_SDK_AK/SK are accepted too.")
@click.option("--no-auth", is_flag=True,
              help="Accept unsigned requests (local testing only; on an address other than "
                   "loopback it also needs --insecure).")
@click.option("--engine", type=click.Choice(["rapidocr", "tesseract", "auto", "scripted"]),
              default="rapidocr", show_default=True, envvar="OCRPIPE_SERVE_ENGINE",
              show_envvar=True,
              help="OCR engine; auto reads Latin-script pages with tesseract and the others "
              "with rapidocr; tesseract needs the [tesseract] extra and Debian's language "
              "data; scripted has no models and answers text derived from each page (tests).")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True,
              envvar="OCRPIPE_SERVE_DEVICE", show_envvar=True,
              help="Where RapidOCR runs; cuda needs an NVIDIA GPU and onnxruntime-gpu.")
@click.option("--queue-size", type=click.IntRange(min=0), default=16, show_default=True,
              envvar="OCRPIPE_SERVE_QUEUE_SIZE", show_envvar=True,
              help="Pages that may wait for a worker; more answer 429 ModelArts.4401.")
@click.option("--rate-limit", type=click.IntRange(min=0), default=0, show_default=True,
              envvar="OCRPIPE_SERVE_RATE_LIMIT", show_envvar=True,
              help="Calls per user, per API, per minute (429 APIG.0308); 0: none.")
@click.option("--request-timeout", type=click.FloatRange(min=0, min_open=True), default=120.0,
              show_default=True, envvar="OCRPIPE_SERVE_REQUEST_TIMEOUT", show_envvar=True,
              help="Seconds per request before 504 APIG.0201.")
@click.option("--allow-private-urls", is_flag=True,
              help="Let `url` inputs reach loopback/private/link-local addresses (SSRF risk).")
@click.option("--cert", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              default=None, envvar="OCRPIPE_SERVE_CERT", show_envvar=True,
              help="TLS certificate chain (PEM): serve https. Needs --key.")
@click.option("--key", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              default=None, envvar="OCRPIPE_SERVE_KEY", show_envvar=True,
              help="TLS private key (PEM).")
@click.option("--state", "state", default=".ocrpipe/service.db", show_default=True,
              envvar="OCRPIPE_SERVE_STATE", show_envvar=True, metavar="PATH|none",
              help="SQLite file that keeps the usage counts (/v1/usage) and issued tokens "
                   "across restarts (created if absent); `none`: in memory only, lost when "
                   "the service stops.")
@click.option("--public-host", default=None, envvar="OCRPIPE_SERVE_PUBLIC_HOST",
              show_envvar=True, metavar="NAME[:PORT]",
              help="The name clients reach the service by: requests signed for another "
                   "Host answer 404 APIG.0101 [default: any Host].")
@click.option("--insecure", is_flag=True,
              help="Allow --no-auth on an address other than loopback (anyone who can "
                   "reach it can use it).")
@click.option("--header-timeout", type=click.FloatRange(min=0, min_open=True), default=15.0,
              show_default=True, envvar="OCRPIPE_SERVE_HEADER_TIMEOUT", show_envvar=True,
              help="Seconds a connection has to send a request's headers, else it is closed.")
@click.option("--body-timeout", type=click.FloatRange(min=0, min_open=True), default=60.0,
              show_default=True, envvar="OCRPIPE_SERVE_BODY_TIMEOUT", show_envvar=True,
              help="Seconds to receive a request's body (408 APIG.0201).")
@click.option("--idle-timeout", type=click.FloatRange(min=0, min_open=True), default=75.0,
              show_default=True, envvar="OCRPIPE_SERVE_IDLE_TIMEOUT", show_envvar=True,
              help="Seconds an idle keep-alive connection stays open.")
@click.option("--max-connections", type=click.IntRange(min=1), default=1024,
              show_default=True, envvar="OCRPIPE_SERVE_MAX_CONNECTIONS", show_envvar=True,
              help="Open connections in all; more are answered 429 APIG.0308 and closed.")
@click.option("--max-connections-per-address", type=click.IntRange(min=1), default=128,
              show_default=True, envvar="OCRPIPE_SERVE_MAX_CONNECTIONS_PER_ADDRESS",
              show_envvar=True,
              help="Open connections per client address (an IPv6 client: its /64).")
@click.option("--preauth-buffer-mb", type=click.IntRange(min=12), default=128,
              show_default=True, envvar="OCRPIPE_SERVE_PREAUTH_BUFFER_MB", show_envvar=True,
              help="MiB of request bodies held, in all (a quarter per client address), "
                   "before their signatures are checked; more answer 429 APIG.0308.")
@click.option("-v", "--verbose", count=True, help="More logging.")
def serve(host: str, port: int, workers: int | None, auth_file: Path | None, no_auth: bool,
          engine: str, device: str, queue_size: int, rate_limit: int, request_timeout: float,
          allow_private_urls: bool, cert: Path | None, key: Path | None, state: str,
          public_host: str | None, insecure: bool, header_timeout: float,
          body_timeout: float, idle_timeout: float, max_connections: int,
          max_connections_per_address: int, preauth_buffer_mb: int,
          verbose: int) -> None:
    """Serve Huawei Cloud OCR's text APIs on this machine (RapidOCR or Tesseract, offline).

    POST /v2/{project_id}/ocr/{general-text,web-image,handwriting,smart-document-recognizer},
    signed with AK/SK as the official SDK does or with an X-Auth-Token from
    POST /v3/auth/tokens; GET /health, /metrics, /v1/usage (admin key). One log line per
    request, never image data or secrets. Usage counts and tokens survive restarts in the
    --state file (tokens only as hashes).
    """
    from pipeline.service.apierror import SetupError
    from pipeline.service.app import ServiceLimits
    from pipeline.service.server import ServiceConfig, load_auth
    from pipeline.service.server import serve as serve_forever

    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        limits = ServiceLimits(
            rate_limit_per_minute=rate_limit, request_timeout=request_timeout,
            allow_private_urls=allow_private_urls, public_host=public_host,
            header_timeout=header_timeout, body_timeout=body_timeout,
            idle_timeout=idle_timeout, max_connections=max_connections,
            max_connections_per_address=max_connections_per_address,
            preauth_buffer_bytes=preauth_buffer_mb * 1024 * 1024,
        )
        serve_forever(ServiceConfig(host=host, port=port, workers=workers,
                                    auth=load_auth(auth_file), auth_required=not no_auth,
                                    engine=engine, device=device, queue_size=queue_size,
                                    limits=limits, cert=cert, key=key,
                                    state=None if state == "none" else Path(state),
                                    insecure=insecure))
    except (OcrpipeError, SetupError) as exc:
        _fail(exc)


@main.command("hash-password")
@click.password_option(confirmation_prompt=True,
                       help="The password or admin key to hash (prompted when not given).")
def hash_password_command(password: str) -> None:
    """Print the hash of a password (or admin key) for the service's auth file:
    password_hash of a [[users]] entry, or key_hash of [admin]."""
    from pipeline.service.authfile import hash_password

    click.echo(hash_password(password))


@main.command()
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True)
@click.option("--job", default=None, help="Only this job's calls.")
@click.option("--by", type=click.Choice(["project", "api", "day", "month"]), default=None,
              help="Group by one key, with what paid for the calls (billing file, if any).")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="With --by: from this day (inclusive).")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="With --by: to this day (inclusive).")
@click.option("--chart", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="With --by: also draw FILE.png or FILE.svg (usage per project per day, "
                   "remaining quota per package; needs matplotlib).")
def report(fmt: str, job: str | None, by: str | None, since: datetime | None,
           until: datetime | None, chart: Path | None) -> None:
    """Usage per enterprise project and API: billed, failed and outcome-unknown calls, pages.

    "Outcome unknown" are calls sent with no answer (timeouts, crashes): the service may
    have billed them; reconcile with the provider's console.
    """
    if by is not None or since or until or chart:
        from pipeline.cli_billing import grouped_report

        if job is not None:
            raise click.UsageError("--job does not go with --by, --since, --until, --chart")
        grouped_report(fmt, by or "project", since, until, chart)
        return
    from pipeline.ledger import format_report
    from pipeline.ledger.report import existing_database, job_names
    from pipeline.store import open_store
    from pipeline.store.engine import shown

    async def collect() -> list[dict[str, object]]:
        store = await open_store(where)
        try:
            if job is not None and job not in (names := await job_names(store)):
                known = ", ".join(names) or "none yet"
                raise ConfigError(
                    f"no job named {job!r} in {shown(where)} (jobs there: {known})"
                )
            return await store.usage_summary(job)
        finally:
            await store.close()

    try:
        where = existing_database(os.environ.get("OCRPIPE_DB"))
        click.echo(f"state database: {shown(where)}", err=True)
        rows = asyncio.run(collect())
    except OcrpipeError as exc:
        _fail(exc)
    click.echo(format_report(rows, fmt), nl=False)


@main.command()
@click.argument("result_json", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--format", "formats", multiple=True, required=True,
              type=click.Choice(["txt", "json", "docx", "pdf", "md", "hocr", "alto"]),
              help="Format to rebuild; repeat for several.")
@click.option("--source", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="The original document (needed for pdf: the text layer goes on it; "
                   "docx crops its figures from it).")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Output file (one format only) [default: beside RESULT_JSON, "
                   "a.pdf.json -> a.pdf.docx].")
@click.option("--low-confidence", type=click.FloatRange(0, 1), default=None,
              help="docx: highlight blocks recognised below this confidence.")
@click.option("--pdf-password", default=None, envvar="OCRPIPE_PDF_PASSWORD", show_envvar=True,
              help="Password of an encrypted original PDF.")
@click.option("--txt-lines/--txt-reflow", default=True, show_default=True,
              help="txt: one line per OCR line, or each paragraph on one line.")
@click.option("--headers", type=click.Choice(["keep", "drop"]), default="keep",
              show_default=True, help="docx/md: running headers and footers.")
def export(result_json: Path, formats: tuple[str, ...], source: Path | None,
           output: Path | None, low_confidence: float | None, pdf_password: str | None,
           txt_lines: bool, headers: str) -> None:
    """Rebuild outputs from RESULT_JSON (a .json that `ocrpipe run` wrote), without OCR.

    Exit codes: 0 written; 1 the result or the original is unusable; 2 wrong arguments.
    """
    from pipeline.export import export as export_result
    from pipeline.writers import WriteOptions

    if output is not None and len(set(formats)) > 1:
        raise click.UsageError("--output takes one --format; leave it out for several")
    options = WriteOptions(low_confidence=low_confidence, pdf_password=pdf_password,
                           txt_lines=txt_lines, headers=headers)
    try:
        for fmt in dict.fromkeys(formats):
            path = export_result(result_json, fmt, output=output, source=source, options=options)
            click.echo(str(path))
    except OcrpipeError as exc:
        _fail(exc)


def _add_job_commands() -> None:
    from pipeline.cli_jobs import COMMANDS  # `up`, `token`, `submit`, `jobs`

    for command in COMMANDS:
        main.add_command(command)
    from pipeline.cli_apis import apis_command  # `apis`

    main.add_command(apis_command)
    from pipeline.cli_schedules import schedules  # `schedules`

    main.add_command(schedules)
    from pipeline.bench.command import bench  # `bench`

    main.add_command(bench)
    from pipeline.cli_billing import billing_group, reconcile_command  # `billing`, `reconcile`

    main.add_command(billing_group)
    main.add_command(reconcile_command)
    from pipeline.cli_db import db_command  # `db upgrade`, `db current`

    main.add_command(db_command)
    from pipeline.cli_worker import worker_command  # `worker`

    main.add_command(worker_command)
    from pipeline.cli_workers import workers_command  # `workers`

    main.add_command(workers_command)


_add_job_commands()
