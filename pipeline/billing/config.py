"""The billing file: packages, free quotas, pay-per-use prices and budgets, validated
strictly like job files (unknown keys are errors, each problem names its key).

Read from `$OCRPIPE_BILLING`, else `billing.toml` beside the state database. The shape is
the fixed interface of issue 18; `jobs/billing.example.toml` is a commented example.
"""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from sqlalchemy.engine import make_url

from pipeline.config import describe_errors
from pipeline.errors import ConfigError
from pipeline.protocol import apis

BILLING_ENV = "OCRPIPE_BILLING"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _known_api(value: str) -> str:
    try:
        return apis.api(value).name
    except apis.UnknownApi as exc:
        raise ValueError(str(exc)) from None


def _known_region(value: str) -> str:
    try:
        apis.region_endpoint(value)
    except apis.UnknownRegion as exc:
        raise ValueError(str(exc)) from None
    return value


ApiName = Annotated[str, AfterValidator(_known_api)]
RegionName = Annotated[str, AfterValidator(_known_region)]


class FreeQuota(_Strict):
    """`[[free_quota]]`: calls of one API free each calendar month (all regions, all
    projects together)."""

    api: ApiName
    calls_per_month: int = Field(ge=0)


class Package(_Strict):
    """`[[package]]`: a prepaid quota of one API in one region."""

    id: str = Field(min_length=1)
    api: ApiName
    region: RegionName
    calls: int = Field(gt=0)
    effective: dt.date
    expires: dt.date  # the last day it pays for calls
    created: dt.date
    enterprise_project: str | None = None  # bound to one project; None: for all
    auto_renew: bool = False
    renew_days_before: int = Field(7, ge=0)
    grace_days: int = Field(15, ge=0)
    retention_days: int = Field(15, ge=0)
    alert_remaining_percent: tuple[float, ...] = ()

    @model_validator(mode="after")
    def _dates(self) -> Package:
        if self.expires < self.effective:
            raise ValueError(f"package {self.id!r}: expires ({self.expires}) is before "
                             f"effective ({self.effective})")
        return self

    @field_validator("alert_remaining_percent")
    @classmethod
    def _percent(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if any(not 0 < p < 100 for p in value):
            raise ValueError("each threshold is a percentage between 0 and 100 (exclusive)")
        return tuple(sorted(set(value), reverse=True))


class Tier(_Strict):
    """One volume tier: calls of the month up to `up_to` (inclusive) cost `per_call`; the
    last tier has no `up_to`."""

    up_to: int | None = Field(None, gt=0)
    per_call: float = Field(ge=0)


class Price(_Strict):
    """`[[price]]`: pay-per-use price of one API in one region, by that month's volume."""

    api: ApiName
    region: RegionName
    tiers: tuple[Tier, ...] = Field(min_length=1)

    @field_validator("tiers")
    @classmethod
    def _ordered(cls, tiers: tuple[Tier, ...]) -> tuple[Tier, ...]:
        bounds = [t.up_to for t in tiers]
        if bounds[-1] is not None:
            raise ValueError("the last tier has no up_to (it prices every call above the others)")
        if any(b is None for b in bounds[:-1]):
            raise ValueError("only the last tier may leave out up_to")
        head = [b for b in bounds[:-1] if b is not None]
        if head != sorted(set(head)):
            raise ValueError("up_to must grow from one tier to the next")
        return tiers

    def per_call(self, nth_call_of_month: int) -> float:
        """The price of the month's `nth_call_of_month`-th call (1-based) of this API."""
        for tier in self.tiers:
            if tier.up_to is None or nth_call_of_month <= tier.up_to:
                return tier.per_call
        raise AssertionError("unreachable: the last tier has no bound")


class Budget(_Strict):
    """`[[budget]]`: a monthly budget of one enterprise project, in calls or money."""

    enterprise_project: str
    month_calls: int | None = Field(None, gt=0)
    month_cost: float | None = Field(None, gt=0)
    on_exceeded: Literal["stop", "continue"] = "continue"

    @model_validator(mode="after")
    def _one_limit(self) -> Budget:
        if (self.month_calls is None) == (self.month_cost is None):
            raise ValueError(f"budget of {self.enterprise_project!r}: give month_calls or "
                             "month_cost (one of them)")
        return self


class Billing(_Strict):
    currency: str = "CNY"
    # the clock the provider's days and months follow (Huawei's console: Asia/Shanghai)
    timezone: str = "UTC"
    # where alerts are POSTed, signed with $OCRPIPE_WEBHOOK_SECRET (pipeline/billing/alerts.py)
    alert_webhook: str | None = Field(None, pattern=r"^https?://")
    free_quota: tuple[FreeQuota, ...] = ()
    package: tuple[Package, ...] = ()
    price: tuple[Price, ...] = ()
    budget: tuple[Budget, ...] = ()

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"{value!r} is not an IANA time zone (e.g. Asia/Shanghai, UTC)") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @model_validator(mode="after")
    def _unique(self) -> Billing:
        ids = [p.id for p in self.package]
        if dupes := sorted({i for i in ids if ids.count(i) > 1}):
            raise ValueError(f"package ids must be unique: {', '.join(dupes)} repeated")
        apis = [q.api for q in self.free_quota]
        if dupes := sorted({a for a in apis if apis.count(a) > 1}):
            raise ValueError(f"one free_quota per API: {', '.join(dupes)} repeated")
        keys = [(p.api, p.region) for p in self.price]
        if dupes := sorted({f"{a}/{r}" for a, r in keys if keys.count((a, r)) > 1}):
            raise ValueError(f"one price per API and region: {', '.join(dupes)} repeated")
        return self

    def free_calls(self, api: str) -> int:
        return next((q.calls_per_month for q in self.free_quota if q.api == api), 0)

    def price_of(self, api: str, region: str | None) -> Price | None:
        """The pay-per-use price of `api` in `region`; with the region unknown, the
        API's only price (None if it has none or several)."""
        matches = [p for p in self.price if p.api == api and region in (None, p.region)]
        return matches[0] if len(matches) == 1 else None


def parse_billing(text: str, *, origin: str = "<billing>") -> Billing:
    """Validate billing-file text; ConfigError names the file and each bad key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{origin} is not valid TOML: {exc}") from None
    try:
        return Billing.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{origin} has errors:\n{describe_errors(exc, 'Billing')}") from None


def billing_path(database: str) -> Path:
    """`$OCRPIPE_BILLING`, else `billing.toml` beside the state database file; a
    ConfigError saying to set the variable when the database is not a local file."""
    path = find_billing_path(database)
    if path is None:
        raise ConfigError(f"set {BILLING_ENV} to the billing file: the state database "
                          f"{database} is not a local file to find billing.toml beside")
    return path


def find_billing_path(database: str) -> Path | None:
    """Where the billing file would be, or None when `$OCRPIPE_BILLING` is unset and the
    state database is not a local file (PostgreSQL): then there is none, and runs keep
    no books."""
    if value := os.environ.get(BILLING_ENV):
        return Path(value).expanduser()
    if "://" in database:
        url = make_url(database)
        if not url.get_backend_name() == "sqlite" or not url.database:
            return None
        return Path(url.database).parent / "billing.toml"
    return Path(database).expanduser().parent / "billing.toml"


def load_billing(path: Path) -> Billing:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"no billing file at {path}: write one (see jobs/billing.example.toml) "
                          f"or point {BILLING_ENV} at it") from None
    except OSError as exc:
        raise ConfigError(f"cannot read the billing file {path}: {exc.strerror}") from None
    return parse_billing(text, origin=str(path))
