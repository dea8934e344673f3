"""Billing files for tests, written from a few arguments instead of TOML pasted per test.

Every section is `general-text` in `cn-north-4` unless told otherwise, and packages are in
force from 2020 to 2099, so a test names only what it is about: calls, the bound project,
an alert threshold, a budget.
"""

from __future__ import annotations

from pathlib import Path

API = "general-text"
REGION = "cn-north-4"


def package(id: str, calls: int, *, project: str | None = None,
            alert_percent: list[int] | None = None, effective: str = "2020-01-01",
            expires: str = "2099-12-31", created: str = "2019-12-01") -> str:
    """One `[[package]]`; `project` binds it to an enterprise project."""
    lines = ["[[package]]", f'id = "{id}"', f'api = "{API}"', f'region = "{REGION}"',
             f"calls = {calls}", f"effective = {effective}", f"expires = {expires}",
             f"created = {created}"]
    if project is not None:
        lines.append(f'enterprise_project = "{project}"')
    if alert_percent is not None:
        lines.append(f"alert_remaining_percent = {alert_percent}")
    return "\n".join(lines)


def free_quota(calls_per_month: int) -> str:
    return f'[[free_quota]]\napi = "{API}"\ncalls_per_month = {calls_per_month}'


def price(per_call: float) -> str:
    """Pay-per-use at one tier."""
    return f'[[price]]\napi = "{API}"\nregion = "{REGION}"\ntiers = [{{ per_call = {per_call} }}]'


def budget(project: str, *, month_calls: int) -> str:
    return f'[[budget]]\nenterprise_project = "{project}"\nmonth_calls = {month_calls}'


def billing_toml(*sections: str, timezone: str | None = None,
                 alert_webhook: str | None = None) -> str:
    """The billing file: currency CNY, an optional timezone and alert webhook, then the
    sections."""
    head = ['currency = "CNY"']
    if timezone is not None:
        head.append(f'timezone = "{timezone}"')
    if alert_webhook is not None:
        head.append(f'alert_webhook = "{alert_webhook}"')
    return "\n".join([*head, *sections]) + "\n"


def write_billing(folder: Path, *sections: str, timezone: str | None = None,
                  alert_webhook: str | None = None) -> Path:
    """`billing.toml` in `folder` (beside the state database, where ocrpipe looks)."""
    path = folder / "billing.toml"
    path.write_text(billing_toml(*sections, timezone=timezone, alert_webhook=alert_webhook))
    return path
