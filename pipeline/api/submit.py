"""A submitted job body made into a stored job spec: the same schema as job files, the
token's enterprise project, no credentials, local paths that exist, made absolute."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from yarl import URL

from pipeline.config import JobSpec, job_from_data
from pipeline.errors import ConfigError
from pipeline.protocol.addresses import refused_host
from pipeline.store import TokenInfo
from pipeline.store.tokens import PROJECT_PATTERN
from pipeline.stored_job import stored_spec

__all__ = ["Forbidden", "WebhookRules", "job_from_body", "stored_spec"]


class Forbidden(Exception):
    """The token may not do this (403); the message says why."""


@dataclass(frozen=True)
class WebhookRules:
    can_sign: bool = False
    """The server has OCRPIPE_WEBHOOK_SECRET: jobs may name a webhook."""
    allow_private: bool = False
    """`up --allow-private-webhooks`: loopback, private and link-local hosts allowed."""


def job_from_body(body: object, token: TokenInfo, *, base_dir: Path,
                  data_root: Path | None = None, webhooks: WebhookRules | None = None,
                  ) -> JobSpec:
    """Validate a POST /v1/jobs body. ConfigError (400) names the bad key; Forbidden (403)
    when it names another enterprise project than the token's, or (with `data_root`) a
    local folder outside it."""
    if not isinstance(body, dict):
        raise ConfigError("the body must be a JSON object with a job file's keys "
                          '(e.g. {"name": ..., "source": {"url": ...}, "output": {"url": ...}})')
    source = body.get("source")
    if isinstance(source, dict) and "pdf_password" in source:
        raise ConfigError("source.pdf_password: job bodies may not carry credentials; "
                          "run jobs with encrypted PDFs with `ocrpipe run`")
    ocr = body.get("ocr", {})
    if not isinstance(ocr, dict):
        raise ConfigError("ocr: must be an object (a table in a job file)")
    project = ocr.get("enterprise_project_id")
    if not token.admin:
        if project is not None and project != token.enterprise_project:
            raise Forbidden(f"ocr.enterprise_project_id: this token submits jobs for enterprise "
                            f"project {token.enterprise_project!r} only")
        body = {**body, "ocr": {**ocr, "enterprise_project_id": token.enterprise_project}}
    spec = job_from_data(body, origin="the job", base_dir=base_dir)
    if not PROJECT_PATTERN.match(spec.ocr.enterprise_project_id):
        raise ConfigError("ocr.enterprise_project_id: letters, digits, '_' or '-' only")
    if spec.notify is not None:
        _check_webhook(spec.notify.webhook, webhooks or WebhookRules())
    if data_root is not None:
        for key, url in (("source.url", spec.source.url), ("output.url", spec.output.url)):
            if "://" not in url and not Path(spec.resolve(url)).resolve().is_relative_to(
                    data_root):
                raise Forbidden(f"{key}: local folders of submitted jobs must be inside "
                                f"{data_root} (`ocrpipe up --data-root`)")
    if "://" not in spec.source.url and not Path(spec.resolve(spec.source.url)).is_dir():
        raise ConfigError(f"source.url: no folder {spec.resolve(spec.source.url)} on the server: "
                          "give a folder that `ocrpipe up` can read, or an s3:// URL")
    return spec


def _check_webhook(url: str, rules: WebhookRules) -> None:
    if not rules.can_sign:
        raise ConfigError("notify.webhook: this server cannot sign webhooks (no "
                          "OCRPIPE_WEBHOOK_SECRET in its environment): ask its operator")
    host = URL(url).host or ""
    if not rules.allow_private and refused_host(host):
        raise ConfigError(f"notify.webhook: {host} is a loopback, private or link-local "
                          "address; refused unless `ocrpipe up --allow-private-webhooks`")
