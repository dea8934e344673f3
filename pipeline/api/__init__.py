"""The job API of `ocrpipe up`: submit, list, watch, cancel and retry jobs over HTTP, and
the schedules that make jobs at their due times."""

from pathlib import Path

from aiohttp import web

from pipeline.api.app import create_app as create_jobs_app
from pipeline.api.http import MAX_BODY
from pipeline.api.schedules import add_schedule_routes
from pipeline.api.submit import WebhookRules
from pipeline.store import Store


def create_app(store: Store, *, base_dir: Path | None = None, data_root: Path | None = None,
               webhooks: WebhookRules | None = None) -> web.Application:
    """The job API (`pipeline.api.app.create_app`) with `/v1/schedules` added."""
    app = create_jobs_app(store, base_dir=base_dir, data_root=data_root, webhooks=webhooks)
    add_schedule_routes(app, store)
    return app


__all__ = ["MAX_BODY", "create_app"]
