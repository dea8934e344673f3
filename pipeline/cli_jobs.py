"""The CLI of jobs on demand: `ocrpipe up`, `token`, `submit`, `jobs` (added to the
`ocrpipe` group by `pipeline.cli`). Errors become exit codes here, as in `cli.py`."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import click

from pipeline.errors import ExitCode, OcrpipeError

SERVER_HELP = "Job API URL [default: $OCRPIPE_SERVER or http://127.0.0.1:8700]."
FINAL = ("done", "failed", "cancelled")


def _fail(exc: Exception) -> None:
    click.echo(f"ocrpipe: error: {exc}", err=True)
    sys.exit(getattr(exc, "exit_code", ExitCode.CONFIG))


def _use_state(state: str | None) -> None:
    """`--state` for everything this process opens (the runs read $OCRPIPE_DB too)."""
    if state:
        os.environ["OCRPIPE_DB"] = state


@click.command(epilog="SIGINT/SIGTERM: no new jobs, calls in flight finish (--grace), running "
                      "jobs go back to the queue, exit 0. A second signal stops at once.")
@click.option("--host", default="127.0.0.1", show_default=True, envvar="OCRPIPE_UP_HOST",
              show_envvar=True, help="Address of the job API (0.0.0.0 exposes it).")
@click.option("--port", default=8700, show_default=True, type=click.IntRange(0, 65535),
              envvar="OCRPIPE_UP_PORT", show_envvar=True, help="TCP port (0: a free one).")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(min=1),
              envvar="OCRPIPE_UP_WORKERS", show_envvar=True, help="Jobs run at once.")
@click.option("--state", default=None, envvar="OCRPIPE_DB", show_envvar=True,
              help="State database (path, sqlite:// or postgresql:// URL) "
                   "[default: .ocrpipe/state.db].")
@click.option("--grace", type=click.FloatRange(min=0), default=30.0, show_default=True,
              help="On SIGINT/SIGTERM, seconds to let OCR calls in flight finish.")
@click.option("--lease", type=click.FloatRange(min=1), default=30.0, show_default=True,
              help="Seconds a worker's claim on a job holds unrenewed: after a crash the "
                   "next `up` resumes the job once it has run out.")
@click.option("--data-root", type=click.Path(path_type=Path, file_okay=False, exists=True),
              default=None, envvar="OCRPIPE_UP_DATA_ROOT", show_envvar=True,
              help="Local source and output folders of submitted jobs must be inside it "
                   "(403 otherwise), and relative ones are taken from it; `--data-root /` "
                   "lets jobs name any folder [default: the folder `up` starts in].")
@click.option("--allow-private-webhooks", is_flag=True,
              help="Let [notify] webhooks reach loopback/private/link-local addresses (SSRF "
                   "risk). Webhooks are signed with $OCRPIPE_WEBHOOK_SECRET (none: refused).")
@click.option("--embedded-workers", type=click.IntRange(min=1), default=None,
              envvar="OCRPIPE_UP_EMBEDDED_WORKERS", show_envvar=True,
              help="Engine processes of the embedded OCR service, started once and shared by "
                   "every job with endpoint = \"embedded\" [default: CPU cores].")
@click.option("--jobs", "jobs_dir", type=click.Path(path_type=Path, file_okay=False, exists=True),
              default=None, envvar="OCRPIPE_UP_JOBS", show_envvar=True,
              help="Folder of job files: those with a `schedule` key run at their times; "
                   "read again when a file changes or on SIGHUP (README, 'Scheduled runs').")
@click.option("--tick", type=click.FloatRange(min=0.05), default=15.0, show_default=True,
              envvar="OCRPIPE_UP_TICK", show_envvar=True,
              help="Seconds between the scheduler's looks at the schedules and at --jobs.")
@click.option("-v", "--verbose", count=True,
              help="-vv: debug logging (one line per job and document event is the default).")
def up(host: str, port: int, workers: int, state: str | None, grace: float, lease: float,
       data_root: Path | None, allow_private_webhooks: bool, embedded_workers: int | None,
       jobs_dir: Path | None, tick: float, verbose: int) -> None:
    """Serve the job API and run queued jobs, --workers at a time (see README, "Jobs on
    demand"). Credentials for the OCR endpoint and S3 come from this process's
    environment or credentials file, as for `ocrpipe run`; never from a job."""
    from pipeline.job_worker import WorkerSettings
    from pipeline.up import UpConfig, main

    logging.basicConfig(level=logging.DEBUG if verbose > 1 else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    _use_state(state)
    root = (data_root or Path.cwd()).resolve()
    config = UpConfig(host=host, port=port, workers=workers, grace=grace, base_dir=root,
                      data_root=root, allow_private_webhooks=allow_private_webhooks,
                      embedded_workers=embedded_workers,
                      worker=WorkerSettings(lease=lease), jobs_dir=jobs_dir, tick=tick)

    def ready(url: str) -> None:
        click.echo(f"ocrpipe up: job API at {url}", err=True)

    try:
        asyncio.run(main(config, ready))
    except OcrpipeError as exc:
        _fail(exc)
    except OSError as exc:  # the port is taken, the address is wrong
        _fail(OcrpipeError(f"cannot serve on {host}:{port}: {exc.strerror or exc}"))
    except (KeyboardInterrupt, asyncio.CancelledError):
        click.echo("ocrpipe up: stopped at once; running jobs are queued again", err=True)
        sys.exit(ExitCode.INTERRUPTED)


@click.group()
def token() -> None:
    """API tokens of the job API (stored as hashes in the state database)."""


def _token_store_call(state: str | None, fn: Any) -> Any:
    from pipeline.store import TokenStore, open_store

    _use_state(state)

    async def go() -> Any:
        store = await open_store()
        try:
            return await fn(TokenStore(store))
        finally:
            await store.close()

    try:
        return asyncio.run(go())
    except OcrpipeError as exc:
        _fail(exc)


STATE_OPTION = click.option("--state", default=None, envvar="OCRPIPE_DB", show_envvar=True,
                            help="State database [default: .ocrpipe/state.db].")


@token.command("create")
@click.option("--project", default=None, help="The enterprise project the token is bound to.")
@click.option("--name", default=None, help="A name to recognise it by [default: the project].")
@click.option("--admin", is_flag=True, help="A token that sees and submits for every project.")
@STATE_OPTION
def token_create(project: str | None, name: str | None, admin: bool, state: str | None) -> None:
    """Create a token; it is printed once, alone on the last line (only its hash is kept)."""
    if admin == (project is not None):
        raise click.UsageError("give --project EP or --admin (one of the two)")
    label = name or (project if project else "admin")
    secret, info = _token_store_call(state, lambda tokens: tokens.create(
        name=label, enterprise_project=project, admin=admin))
    scope = "every enterprise project (admin)" if admin else f"enterprise project {project}"
    click.echo(f"token {info.id} ({label!r}) for {scope}; shown once, keep it "
               "(export OCRPIPE_TOKEN=...):", err=True)
    click.echo(secret)


@token.command("list")
@STATE_OPTION
def token_list(state: str | None) -> None:
    """Tokens: id, name, scope, created, revoked (never the tokens themselves)."""
    rows = _token_store_call(state, lambda tokens: tokens.list_tokens())
    click.echo("id\tname\tscope\tcreated\trevoked")
    for t in rows:
        scope = "admin" if t.admin else t.enterprise_project
        revoked = t.revoked_at.isoformat(timespec="seconds") if t.revoked_at else "-"
        click.echo(f"{t.id}\t{t.name}\t{scope}\t{t.created_at.isoformat(timespec='seconds')}"
                   f"\t{revoked}")


@token.command("revoke")
@click.argument("token_id_or_name")
@STATE_OPTION
def token_revoke(token_id_or_name: str, state: str | None) -> None:
    """Revoke a token by id, or every live token with this name."""
    count = _token_store_call(state, lambda tokens: tokens.revoke(token_id_or_name))
    if not count:
        _fail(OcrpipeError(f"no live token {token_id_or_name!r}: `ocrpipe token list` shows them"))
    click.echo(f"revoked {count} token(s)")


def _job_body(job_file: Path) -> dict[str, Any]:
    """The job file's keys, validated here first, local paths made absolute (they are
    this folder's, not the server's)."""
    from pipeline.config import load_job

    spec = load_job(job_file)
    data: dict[str, Any] = tomllib.loads(job_file.read_text(encoding="utf-8"))
    for table in ("source", "output"):
        data[table]["url"] = spec.resolve(data[table]["url"])
    return data


def _pace(pages: dict[str, Any]) -> str:
    """', 3.2 pages/s, ETA 1m05s' from the job's pages; what the API does not know yet is
    left out."""
    rate, eta = pages.get("per_second"), pages.get("eta_seconds")
    text = f", {rate:.1f} pages/s" if rate else ""
    if eta is not None:
        minutes, seconds = divmod(round(eta), 60)
        text += f", ETA {minutes}m{seconds:02d}s" if minutes else f", ETA {seconds}s"
    return text


def _wait(api: Any, job: dict[str, Any]) -> None:
    from rich.console import Console

    console = Console(stderr=True)
    with console.status(f"{job['name']} ({job['id']}): {job['status']}") as status:
        while job["status"] not in FINAL:
            time.sleep(1.0)
            job = api.job(job["id"])
            docs, pages = job.get("documents", {}), job.get("pages", {})
            status.update(f"{job['name']} ({job['id']}): {job['status']}, documents "
                          f"{docs.get('done', 0)} done / {docs.get('failed', 0)} failed / "
                          f"{docs.get('total', 0)} seen, {pages.get('done', 0)} pages"
                          f"{_pace(pages)}")
    docs, calls = job.get("documents", {}), job.get("calls", {})
    click.echo(f"{job['name']} ({job['id']}): {job['status']}; documents {docs.get('done', 0)} "
               f"done, {docs.get('failed', 0)} failed; calls {calls.get('billed', 0)} billed, "
               f"{calls.get('unknown', 0)} outcome unknown; outputs in {job['outputs']}")
    if job.get("error"):
        click.echo(f"ocrpipe: {job['error']}", err=True)
    if job["status"] == "cancelled":
        sys.exit(ExitCode.INTERRUPTED)
    sys.exit(job["exit_code"] if job["exit_code"] is not None else ExitCode.CONFIG)


@click.command()
@click.argument("job_file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--server", default=None, help=SERVER_HELP)
@click.option("--wait", is_flag=True, help="Wait for the end; exit with `ocrpipe run`'s codes "
                                           "(130: cancelled).")
@click.option("--idempotency-key", default=None,
              help="Submitting again with the same key returns the first job.")
def submit(job_file: Path, server: str | None, wait: bool, idempotency_key: str | None) -> None:
    """Submit JOB_FILE to `ocrpipe up` (token: $OCRPIPE_TOKEN); prints the job id."""
    from pipeline.api_client import JobApi

    try:
        api = JobApi.from_environment(server)
        job = api.submit(_job_body(job_file), idempotency_key)
        click.echo(job["id"])
        if wait:
            _wait(api, job)
    except OcrpipeError as exc:
        _fail(exc)
    except KeyboardInterrupt:
        click.echo("ocrpipe: no longer waiting; the job goes on (`ocrpipe jobs show ID`)",
                   err=True)
        sys.exit(ExitCode.INTERRUPTED)


@click.group()
def jobs() -> None:
    """Jobs of `ocrpipe up`: list, show, cancel, retry (token: $OCRPIPE_TOKEN)."""


def _api_call(server: str | None, fn: Any) -> Any:
    from pipeline.api_client import JobApi

    try:
        return fn(JobApi.from_environment(server))
    except OcrpipeError as exc:
        _fail(exc)


SERVER_OPTION = click.option("--server", default=None, help=SERVER_HELP)


@jobs.command("list")
@click.option("--status", default=None, help="Only jobs with this status.")
@click.option("--project", default=None, help="Only this enterprise project's jobs.")
@click.option("--json", "as_json", is_flag=True, help="The API's JSON.")
@SERVER_OPTION
def jobs_list(status: str | None, project: str | None, as_json: bool, server: str | None) -> None:
    """The newest jobs first (one page of 50)."""
    listing = _api_call(server, lambda api: api.jobs(status=status, enterprise_project=project))
    if as_json:
        click.echo(json.dumps(listing, indent=2))
        return
    click.echo("id\tname\tproject\tstatus\tsubmitted")
    for job in listing["jobs"]:
        click.echo(f"{job['id']}\t{job['name']}\t{job['enterprise_project']}\t{job['status']}"
                   f"\t{job['submitted_at']}")


@jobs.command("show")
@click.argument("job_id")
@SERVER_OPTION
def jobs_show(job_id: str, server: str | None) -> None:
    """One job as JSON: status, counts, calls, timestamps, outputs."""
    click.echo(json.dumps(_api_call(server, lambda api: api.job(job_id)), indent=2))


@jobs.command("cancel")
@click.argument("job_id")
@SERVER_OPTION
def jobs_cancel(job_id: str, server: str | None) -> None:
    """Cancel: a queued job at once, a running one once its calls in flight finish."""
    job = _api_call(server, lambda api: api.action(job_id, "cancel"))
    click.echo(f"{job['id']}: {job['status']}")


@jobs.command("retry")
@click.argument("job_id")
@SERVER_OPTION
def jobs_retry(job_id: str, server: str | None) -> None:
    """Queue an ended job again: a done job runs its failed documents only; a failed or
    cancelled one runs whole again, resuming (finished pages are not sent again)."""
    job = _api_call(server, lambda api: api.action(job_id, "retry"))
    scope = " (the failed documents only)" if job.get("scope") == "failed" else ""
    click.echo(f"{job['id']}: {job['status']}{scope}")


COMMANDS = (up, token, submit, jobs)
