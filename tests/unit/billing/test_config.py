from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.billing.config import billing_path, load_billing, parse_billing
from pipeline.errors import ConfigError

PKG = '[[package]]\nid = "p"\napi = "general-text"\nregion = "cn-north-4"\ncalls = 5\n'
PRICE = '[[price]]\napi = "general-text"\nregion = "cn-north-4"\n'
FREE = '[[free_quota]]\napi = "general-text"\n'
EXAMPLE = Path(__file__).parents[3] / "jobs" / "billing.example.toml"


def test_the_example_file_is_valid() -> None:
    billing = load_billing(EXAMPLE)
    assert billing.currency == "CNY"
    assert [p.id for p in billing.package] == ["gt-2026", "gt-shared"]
    assert billing.package[0].alert_remaining_percent == (20.0, 5.0)
    assert billing.price_of("general-text", "cn-north-4") is not None
    assert billing.budget[0].on_exceeded == "stop"


@pytest.mark.parametrize(("text", "says"), [
    ('curency = "CNY"', "curency: unknown key"),
    (PKG + "effective = 2026-01-01\nexpires = 2026-12-31",
     "package.0.created: required key is missing"),
    (PKG + "effective = 2026-02-01\n"
     "expires = 2026-01-01\ncreated = 2026-01-01", "is before effective"),
    (PRICE + 'tiers = [{ up_to = 5, per_call = 1.0 }]',
     "the last tier has no up_to"),
    (PRICE + 'tiers = [{ up_to = 5, per_call = 1.0 }, '
     '{ up_to = 3, per_call = 1.0 }, { per_call = 0.5 }]', "up_to must grow"),
    ('[[budget]]\nenterprise_project = "p"\nmonth_calls = 5\nmonth_cost = 2.0',
     "give month_calls or month_cost"),
    ('[[budget]]\nenterprise_project = "p"\nmonth_calls = 5\non_exceeded = "halt"',
     "on_exceeded"),
    ('timezone = "Mars/Olympus"', "not an IANA time zone"),
    (FREE + "calls_per_month = 1\n" + FREE + "calls_per_month = 2",
     "one free_quota per API"),
    ("currency = ", "is not valid TOML"),
    ('[[free_quota]]\napi = "general-txt"\ncalls_per_month = 1',
     "did you mean 'general-text'"),
    ('[[price]]\napi = "general-text"\nregion = "cn-north-9"\ntiers = [{ per_call = 1.0 }]',
     "price.0.region: 'cn-north-9' is not a Huawei OCR region"),
])
def test_bad_files_name_the_key(text: str, says: str) -> None:
    with pytest.raises(ConfigError, match=r"billing\.toml") as caught:
        parse_billing(text, origin="billing.toml")
    assert says in str(caught.value)


def test_duplicate_package_ids_are_refused() -> None:
    one = ('[[package]]\nid = "p"\napi = "general-text"\nregion = "cn-north-4"\ncalls = 5\n'
           "effective = 2026-01-01\nexpires = 2026-12-31\ncreated = 2026-01-01\n")
    with pytest.raises(ConfigError, match="package ids must be unique: p repeated"):
        parse_billing(one + one)


def test_billing_path_env_then_beside_the_database(monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    monkeypatch.delenv("OCRPIPE_BILLING", raising=False)
    assert billing_path(str(tmp_path / "state.db")) == tmp_path / "billing.toml"
    assert billing_path(f"sqlite:///{tmp_path}/state.db") == tmp_path / "billing.toml"
    monkeypatch.setenv("OCRPIPE_BILLING", str(tmp_path / "b.toml"))
    assert billing_path("postgresql://h/db") == tmp_path / "b.toml"
    monkeypatch.delenv("OCRPIPE_BILLING")
    with pytest.raises(ConfigError, match="set OCRPIPE_BILLING"):
        billing_path("postgresql://h/db")


def test_a_missing_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"billing\.example\.toml"):
        load_billing(tmp_path / "billing.toml")
